#!/usr/bin/env bash
# Follow the logs: all of them, or one of web, worker, runner (in LOG_DIR, ./logs by default).
cd "$(dirname "$0")/.."
dir="${LOG_DIR:-logs}"
if [ -n "${1:-}" ]; then
  exec tail -n 100 -F "$dir/$1.log"
fi
exec tail -n 50 -F "$dir/web.log" "$dir/worker.log" "$dir/runner.log"
