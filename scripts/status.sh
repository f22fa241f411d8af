#!/usr/bin/env bash
# Show the local processes (each start.sh process with every process of its group,
# so a child left behind by a dead parent shows too) and every heartbeat the
# database knows (all hosts).
cd "$(dirname "$0")/.."
PIDS="${DATA_DIR:-data}"
group() { ps -eo pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'; }
for name in web worker runner; do
  pidfile="$PIDS/$name.pid"
  if [ ! -f "$pidfile" ]; then
    echo "$name: not running"
    continue
  fi
  pid="$(cat "$pidfile")"
  members="$(group "$pid" | tr '\n' ' ')"
  if [ -n "$(ps -o stat= -p "$pid" 2>/dev/null | grep -v '^Z')" ]; then
    echo "$name: running (pid $pid; its processes: ${members% })"
  elif [ -n "$members" ]; then
    echo "$name: NOT RUNNING, but it left processes behind: ${members% } (./scripts/stop.sh ends them)"
  else
    echo "$name: not running"
  fi
  if [ "${1:-}" != "--brief" ] && [ -n "$members" ]; then
    list="${members% }"
    ps -o pid=,ppid=,etime=,args= -p "${list// /,}" 2>/dev/null | sed 's/^/    /'
  fi
done
if [ "${1:-}" != "--brief" ] && [ -x .venv/bin/python ]; then
  echo
  .venv/bin/python manage.py system_status
fi
