#!/usr/bin/env bash
# Stop the processes that scripts/start.sh started.
cd "$(dirname "$0")/.."
quiet="${1:-}"
for name in runner worker web; do
  pidfile="data/$name.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    [ "$quiet" = "--quiet" ] || echo "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
done
