#!/usr/bin/env bash
# Set up (venv, the runtime requirements, database, admin login, demo) and start the web
# server, the django-q2 workers and the bot runner in the background, each in
# its own session and process group (setsid), so that stop.sh can end it with
# every process it started, even one it left behind when it died.
# Logs go to $LOG_DIR (logs/), pid files to $DATA_DIR (data/);
# scripts/stop.sh stops them; scripts/status.sh shows them.
source "$(dirname "$0")/_setup.sh" requirements.txt
PIDS="${DATA_DIR:-data}"
LOGS="${LOG_DIR:-logs}"
mkdir -p "$PIDS" "$LOGS"

BIND="${WEB_BIND:-127.0.0.1:${PORT:-8000}}"

python manage.py migrate --noinput -v0
python manage.py createcachetable
python manage.py collectstatic --noinput -v0
python manage.py ensure_admin
python manage.py seed_demo --if-empty

./scripts/stop.sh --quiet || true

start() {
  local name="$1"; shift
  # A background job of this script is no group leader, so setsid makes it one in place:
  # its pid is its process group's id.
  nohup setsid "$@" >>"$LOGS/$name.log" 2>&1 &
  echo $! > "$PIDS/$name.pid"
  echo "started $name (pid $!, log $LOGS/$name.log)"
}

start web gunicorn -c python:autotrader.gunicorn_conf autotrader.wsgi --bind "$BIND" --access-logfile - --capture-output
start worker python manage.py runworkers
start runner python manage.py runbots

sleep 2
./scripts/status.sh --brief || true
echo
echo "Dashboard: http://$BIND/   Admin: http://$BIND/admin/   API docs: http://$BIND/api/docs"
echo "(trading mode: ${TRADING_MODE:-paper}, market data: ${MARKET_DATA:-simulated})"
