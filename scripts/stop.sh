#!/usr/bin/env bash
# Stop the processes that scripts/start.sh started, and everything they started.
# Each runs in its own process group (its pid): SIGTERM to it first, for a
# graceful stop (STOP_SECONDS, 30 by default), then SIGKILL to whatever is left
# in its group, including children its death left behind.
cd "$(dirname "$0")/.."
quiet="${1:-}"
PIDS="${DATA_DIR:-data}"
wait_seconds="${STOP_SECONDS:-30}"

# The live (not zombie) processes of process group $1.
group() { ps -eo pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'; }
alive() { [ -n "$(ps -o stat= -p "$1" 2>/dev/null | grep -v '^Z')" ]; }

for name in runner worker web; do
  pidfile="$PIDS/$name.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((wait_seconds * 5))); do alive "$pid" || break; sleep 0.2; done
  fi
  left="$(group "$pid")"
  if [ -n "$left" ]; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -z "$(group "$pid")" ] && break; sleep 0.1; done
    [ "$quiet" = "--quiet" ] || echo "killed what was left of $name: $(echo $left | tr '\n' ' ')"
  fi
  if [ -n "$(group "$pid")" ]; then
    echo "could not stop $name: processes $(group "$pid" | tr '\n' ' ')are still running" >&2
    exit 1
  fi
  [ "$quiet" = "--quiet" ] || echo "stopped $name (process group $pid)"
  rm -f "$pidfile"
done
