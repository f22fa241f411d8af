#!/usr/bin/env bash
# Set up (venv, requirements, database, admin login, demo) and start the web
# server, the django-q2 worker and the bot runner in the background.
# Logs go to logs/; scripts/stop.sh stops them; scripts/status.sh shows them.
source "$(dirname "$0")/_setup.sh"

BIND="${WEB_BIND:-127.0.0.1:${PORT:-8000}}"

python manage.py migrate --noinput -v0
python manage.py createcachetable
python manage.py collectstatic --noinput -v0
python manage.py ensure_admin
python manage.py seed_demo --if-empty

./scripts/stop.sh --quiet || true

start() {
  local name="$1"; shift
  nohup "$@" >>"logs/$name.log" 2>&1 &
  echo $! > "data/$name.pid"
  echo "started $name (pid $!, log logs/$name.log)"
}

start web gunicorn -c python:autotrader.gunicorn_conf autotrader.wsgi --bind "$BIND" --access-logfile - --capture-output
start worker python manage.py qcluster
start runner python manage.py runbots

sleep 2
./scripts/status.sh --brief || true
echo
echo "Dashboard: http://$BIND/   Admin: http://$BIND/admin/   API docs: http://$BIND/api/docs"
echo "(trading mode: ${TRADING_MODE:-paper}, market data: ${MARKET_DATA:-simulated})"
