"""gunicorn's settings: one home for ``scripts/start.sh`` and ``bench/dashboard.py``.

The dashboard's work is CPU-bound Python (queries through the ORM, templates).
Threads in one process take turns on the GIL, so under load a request waits for
the others' Python; separate processes run on separate cores and queue fairly.
The default is therefore one synchronous process per request in flight
(``WEB_THREADS=1``), four of them: an open dashboard fires its four live panels
at once. Raise ``WEB_THREADS`` when requests wait on the network rather than the
CPU (a far-away database); each process then serves that many at once.

Used as ``gunicorn -c python:autotrader.gunicorn_conf autotrader.wsgi --bind ...``
(start.sh works out the address from WEB_BIND and PORT); options given on the
command line win.
"""

from __future__ import annotations

from autotrader.env import env_int

workers = env_int("WEB_WORKERS", 4, minimum=1)
threads = env_int("WEB_THREADS", 1, minimum=1)
# A request that outlives this is killed and logged: nothing on the dashboard takes long.
timeout = env_int("WEB_TIMEOUT_SECONDS", 30, minimum=5)
# gunicorn's control socket sits at one path per user (~/.gunicorn): a second instance on the
# host (a benchmark, another checkout) would take it over. Nothing here uses it; stop.sh signals.
control_socket_disable = True
