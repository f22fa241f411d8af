#!/usr/bin/env bash
# Show the local processes and every heartbeat the database knows (all hosts).
cd "$(dirname "$0")/.."
for name in web worker runner; do
  pidfile="data/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$name: running (pid $(cat "$pidfile"))"
  else
    echo "$name: not running"
  fi
done
if [ "${1:-}" != "--brief" ] && [ -x .venv/bin/python ]; then
  echo
  .venv/bin/python manage.py system_status
fi
