"""Benchmark the dashboard's overview partials.

Sets up 50 running bots on 9 pairs (each with an evaluation, a position and
20 fills) and 5,000 activity events, starts the real web server (gunicorn, as
scripts/start.sh runs it) on loopback, and measures the overview's four live
partials (portfolio, bot cards, activity, status bar) as a logged-in trader:

1. SQL queries per partial, with 5 bots and 500 events and again with 50 bots
   and 5,000 events (target: the same number; nothing per bot or per event).
2. Latency under 20 concurrent clients, each a dashboard that polls the four
   partials together every 5 s as htmx does (target: p95 under 100 ms).
3. Latency under 20 clients sending back to back, with no pause (a stress
   figure: every client always has a request in flight; same target), and
   the server's CPU time per request.

One client's sequential latency is printed first, for reference. Timings
depend on the machine and on whatever else runs on it: the load average is
printed at the end.

Run: .venv/bin/python bench/dashboard.py [--seconds 30] [--workers N] [--threads N]
(the server's defaults are start.sh's: autotrader/gunicorn_conf.py, WEB_WORKERS, WEB_THREADS)
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _setup import ROOT, django_setup, report

PARTIALS = {
    "portfolio": "/partials/portfolio/",
    "bot cards": "/partials/bot-cards/",
    "activity": "/partials/activity/",
    "status bar": "/partials/status-bar/",
}
CLIENTS = 20
POLL_SECONDS = 5.0
TARGET_P95_MS = 100.0


# --- data ----------------------------------------------------------------------
def add_bots(count: int) -> None:
    """Running bots on the nine pairs, each with a position and 20 fills, then one real tick."""
    from bots.models import Bot
    from bots.services import bot_create, bot_start
    from market.services import get_market_data
    from trading.models import Order, Position, Trade

    market = get_market_data()
    pairs = [p.product_id for p in market.products()][:9]
    start = Bot.objects.count()
    now = market.now()
    for i in range(start, start + count):
        bot = bot_create(
            name=f"bench-{i:03d}", product_id=pairs[i % len(pairs)], granularity=["1m", "5m", "15m"][i % 3]
        )
        bot_start(bot=bot, at=now)
        price = market.ticker(bot.product_id).price
        orders = Order.objects.bulk_create(
            Order(
                bot=bot,
                client_order_id=f"bench-{i}-{n}",
                decision_key=f"bench-{i}-{n}",
                mode="paper",
                product_id=bot.product_id,
                side="BUY" if n % 2 == 0 else "SELL",
                status="FILLED",
                created_at=now - timedelta(hours=40 - n),
            )
            for n in range(20)
        )
        Trade.objects.bulk_create(
            Trade(
                order=order,
                bot=bot,
                trade_id=f"bench-{i}-{n}",
                product_id=bot.product_id,
                side=order.side,
                price=price,
                size=Decimal("0.01"),
                fee=Decimal("0.1"),
                fee_currency="USD",
                quote_value=price * Decimal("0.01"),
                realised_pnl=Decimal("0.5") if order.side == "SELL" else Decimal("0"),
                executed_at=order.created_at,
            )
            for n, order in enumerate(orders)
        )
        Position.objects.create(
            bot=bot, product_id=bot.product_id, base_size=Decimal("0.01"), cost_basis=price * Decimal("0.01")
        )
    _tick()


def _tick() -> None:
    from market.services import get_exchange, get_market_data
    from trading.runner import Runner

    exchange = get_exchange()
    Runner(market=get_market_data(), exchange_for=lambda bot: exchange, owner="bench").tick()


def add_events(count: int) -> None:
    from bots.models import ActivityEvent, Bot
    from market.services import get_market_data

    bots = list(Bot.objects.all())
    now = get_market_data().now()
    kinds = ["decision", "skip", "order", "fill", "state", "confirmation", "error"]
    ActivityEvent.objects.bulk_create(
        (
            ActivityEvent(
                bot=bots[i % len(bots)],
                kind=kinds[i % len(kinds)],
                level="error" if kinds[i % len(kinds)] == "error" else "info",
                message=f"{bots[i % len(bots)].name}: benchmark event {i}",
                at=now - timedelta(seconds=i),
            )
            for i in range(count)
        ),
        batch_size=1000,
    )


def count_queries(session: str) -> dict[str, int]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HX_REQUEST="true", HTTP_HOST="127.0.0.1")
    client.cookies[settings.SESSION_COOKIE_NAME] = session
    counts = {}
    for name, path in PARTIALS.items():
        client.get(path)  # once first: the process's market and products are built on first use
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts[name] = len(ctx)
    return counts


def login_session() -> str:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("bench", password="bench-password-long")
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# --- the server -----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """gunicorn with the settings start.sh uses (autotrader/gunicorn_conf.py: WEB_WORKERS, WEB_THREADS)."""
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:autotrader.gunicorn_conf",
            "autotrader.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the web server did not start")


class Client:
    """One dashboard: a keep-alive connection per partial, as a browser keeps a few."""

    def __init__(self, port: int, session: str) -> None:
        self.port = port
        from django.conf import settings

        cookie = f"{settings.SESSION_COOKIE_NAME}={session}"
        self.headers = {"Cookie": cookie, "HX-Request": "true", "HX-Current-URL": f"http://127.0.0.1:{port}/"}
        self.connections: dict[str, http.client.HTTPConnection] = {}

    def get(self, name: str) -> float:
        """One request's time, connection included when the server had closed an idle one (as a browser sees it)."""
        conn = self.connections.get(name)
        started = time.perf_counter()
        if conn is not None:
            try:
                return self._send(conn, name, started)
            except (http.client.RemoteDisconnected, ConnectionError):
                conn.close()  # the server's keep-alive ran out while the client waited: reconnect
                started = time.perf_counter()
        conn = self.connections[name] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return self._send(conn, name, started)

    def _send(self, conn: http.client.HTTPConnection, name: str, started: float) -> float:
        conn.request("GET", PARTIALS[name], headers=self.headers)
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{PARTIALS[name]} answered {response.status}")
        return elapsed


def poll_once(client: Client) -> dict[str, float]:
    """The four partials at once, as htmx fires them when their 5 s timers line up: name -> ms."""
    results: dict[str, float] = {}

    def fetch(name: str) -> None:
        results[name] = client.get(name)

    threads = [threading.Thread(target=fetch, args=(name,)) for name in PARTIALS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def run_polling(port: int, session: str, seconds: float) -> dict[str, list[float]]:
    """Each client fires the four partials together every 5 s, starting at a random phase."""
    samples: dict[str, list[float]] = {name: [] for name in PARTIALS}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def dashboard(seed: int) -> None:
        client = Client(port, session)
        rng = random.Random(seed)
        next_poll = time.monotonic() + rng.uniform(0, POLL_SECONDS)
        while True:
            time.sleep(max(0.0, next_poll - time.monotonic()))
            if time.monotonic() >= stop_at:
                return
            results = poll_once(client)
            with lock:
                for name, ms in results.items():
                    samples[name].append(ms)
            next_poll += POLL_SECONDS

    threads = [threading.Thread(target=dashboard, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def run_back_to_back(port: int, session: str, seconds: float) -> tuple[dict[str, list[float]], int]:
    samples: dict[str, list[float]] = {name: [] for name in PARTIALS}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(i: int) -> None:
        client = Client(port, session)
        names = list(PARTIALS)
        n = i
        while time.monotonic() < stop_at:
            name = names[n % len(names)]
            ms = client.get(name)
            with lock:
                samples[name].append(ms)
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, sum(len(v) for v in samples.values())


def server_cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by the server and its workers (Linux /proc; None elsewhere)."""
    proc = Path("/proc")
    if not proc.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def summarise(title: str, samples: dict[str, list[float]]) -> bool:
    ok = True
    print(f"\n{title}")
    for name, values in samples.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        print(f"  {name:<11} n={len(values):>5}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    everything = [v for values in samples.values() for v in values]
    ok &= report(f"{title}: all partials p95", percentile(everything, 95), TARGET_P95_MS, "ms")
    print(f"  (all partials p50 {statistics.median(everything):.1f} ms)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the polling run (default 30)")
    parser.add_argument("--workers", type=int, help="gunicorn processes (default: WEB_WORKERS, as start.sh)")
    parser.add_argument("--threads", type=int, help="threads per process (default: WEB_THREADS, as start.sh)")
    args = parser.parse_args()

    data_dir: Path = django_setup()
    os.environ["LOG_DIR"] = str(data_dir / "logs")
    from market.paper import paper_deposit
    from market.services import products_sync

    products_sync()
    paper_deposit("USD", Decimal("10000000"))
    session = login_session()

    print("queries per partial (one logged-in htmx request)")
    add_bots(5)
    add_events(500)
    small = count_queries(session)
    add_bots(45)
    add_events(4500)
    large = count_queries(session)
    ok = True
    for name in PARTIALS:
        same = small[name] == large[name]
        ok &= same
        verdict = "PASS" if same else "FAIL"
        sizes = f"{small[name]:>3} queries (5 bots, 500 events) -> {large[name]:>3} (50 bots, 5,000 events)"
        print(f"  {name:<11} {sizes} {verdict}")

    port = free_port()
    for name, value in (("WEB_WORKERS", args.workers), ("WEB_THREADS", args.threads)):
        if value is not None:
            os.environ[name] = str(value)
    from autotrader import gunicorn_conf

    server = start_server(port)
    try:
        warm = Client(port, session)
        for _ in range(5):
            for name in PARTIALS:
                warm.get(name)
        print(
            f"\nserver: gunicorn, {gunicorn_conf.workers} processes x {gunicorn_conf.threads} threads"
            f" on {os.cpu_count()} CPUs"
        )
        print("\none client, one request at a time (the service time, for reference)")
        for name in PARTIALS:
            alone = [warm.get(name) for _ in range(20)]
            print(f"  {name:<11} p50 {statistics.median(alone):6.1f} ms")
        ok &= summarise(
            f"{CLIENTS} dashboards polling every {POLL_SECONDS:g} s", run_polling(port, session, args.seconds)
        )
        cpu_before = server_cpu_seconds(server.pid)
        samples, total = run_back_to_back(port, session, 10.0)
        cpu_after = server_cpu_seconds(server.pid)
        ok &= summarise(f"{CLIENTS} clients back to back (10 s, {total / 10:.0f} requests/s)", samples)
        if cpu_before is not None and cpu_after is not None:
            print(f"  server CPU per request: {(cpu_after - cpu_before) / total * 1000:.1f} ms (all four partials)")
        print(f"\nload average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
