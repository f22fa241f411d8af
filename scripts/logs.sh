#!/usr/bin/env bash
# Follow the logs: all of them, or one of web, worker, runner.
cd "$(dirname "$0")/.."
if [ -n "${1:-}" ]; then
  exec tail -n 100 -F "logs/$1.log"
fi
exec tail -n 50 -F logs/web.log logs/worker.log logs/runner.log
