"""Load: 500 bots on 20 pairs, a tick every 10 s, 2 workers, for 10 minutes.

The real processes, as a user runs them beyond one machine: ``manage.py runbots``
enqueuing every running bot each tick, ``EVALUATION_BATCH_SIZE`` bots a task
(``EVALUATION_DISPATCH=queue``), and one ``manage.py qcluster`` with 2 workers
evaluating them, paper trading on the
simulated market with all 20 pairs (``SIM_PAIRS=20``) at the speed of the wall
clock (``SIM_SPEED=1``, as on Coinbase). Each configuration runs in turn: the
embedded default (SQLite, database cache, ORM broker) and PostgreSQL + Redis (a
fresh database and a private ``redis-server``, both removed afterwards).

Reported per configuration, with targets:
- tick duration p50/p95, from the tick's start until the last of its evaluations
  has finished (target: p95 under half the interval); the ticker's own share too;
- evaluations per second;
- upstream market-data calls per minute, from the cache's shared counters, against
  what the pairs need whatever the number of bots (target: no more);
- peak memory (VmHWM) of every process (target: under 300 MB each);
- errors, and whether anything was lost or repeated: every enqueued evaluation ran
  once, and every decision became exactly one order.

The processes are launched through this file (``--role``), which only adds
recording: the ticker notes each tick's start and enqueue time, the workers when
each task started and ended and each of its bots' outcome (django-q2's
``pre_execute`` and ``post_execute_in_worker`` signals).

Run: .venv/bin/python bench/load.py [--minutes 10] [--config both|sqlite|postgres]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from _setup import ROOT, django_setup, report

BOTS = 500
PAIRS = 20
INTERVAL = 10.0
WORKERS = 2
GRANULARITIES = ("1m", "5m", "15m")
MEMORY_TARGET_MB = 300.0
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/test"


# --- the processes under test (``--role``) -----------------------------------
def role_runbots(records: Path) -> None:
    """``manage.py runbots``, noting each tick: market time, wall start, enqueue time, bots."""
    import django

    django.setup()
    from trading.runner import Runner

    out = (records / "ticks.csv").open("a", buffering=1)
    tick = Runner.tick

    def recorded(self):
        started = time.time()
        result = tick(self)
        out.write(f"{result.market_time},{started:.3f},{result.duration_ms:.1f},{len(result.results)}\n")
        return result

    Runner.tick = recorded
    _manage("runbots")


def role_qcluster(records: Path) -> None:
    """``manage.py qcluster``, each worker noting every evaluation it ran and when it finished."""
    import django

    django.setup()
    from django_q.signals import post_execute_in_worker, pre_execute

    files = {}
    began: dict[str, float] = {}  # task id -> when this worker took it up (the task's "started" is its enqueueing)

    def start(sender, func, task, **kwargs) -> None:
        began[task["id"]] = time.time()

    def note(sender, func, task, **kwargs) -> None:
        if task.get("func") != "trading.tasks.evaluate_bots":
            return
        pid = os.getpid()
        if pid not in files:
            files[pid] = (records / f"tasks-{pid}.csv").open("a", buffering=1)
        bot_ids, market_time = task["args"]
        result = task["result"] if task.get("success") else {}
        started, ended = began.pop(task["id"]), time.time()
        for bot_id in bot_ids:
            outcome = result.get(bot_id, "failed") if isinstance(result, dict) else "failed"
            files[pid].write(f"{market_time},{bot_id},{started:.3f},{ended:.3f},{outcome}\n")

    pre_execute.connect(start, weak=False)
    post_execute_in_worker.connect(note, weak=False)
    _manage("qcluster")


def _manage(command: str) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", command])


# --- one configuration ----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


def seed() -> None:
    """500 bots on 20 pairs and 3 candle sizes, the default signals, thresholds that trade."""
    from decimal import Decimal

    from bots.services import bot_create, bot_start
    from market.paper import paper_deposit
    from market.services import get_market_data, products_sync

    assert products_sync() == PAIRS
    market = get_market_data()
    pairs = [p.product_id for p in market.products()]
    now = market.now()
    for i in range(BOTS):
        bot = bot_create(
            name=f"load-{i}",
            product_id=pairs[i % PAIRS],
            granularity=GRANULARITIES[(i // PAIRS) % len(GRANULARITIES)],
            buy_threshold=(0.1, 0.2, 0.3)[i % 3],
            sell_threshold=(-0.1, -0.2, -0.3)[i % 3],
            confirmation_minutes=(0, 1, 5)[i % 3],
            cooldown_minutes=0,
            position_size_usd=Decimal("100"),
            max_position_usd=Decimal("300"),
        )
        bot_start(bot=bot, at=now)
    paper_deposit("USD", Decimal("10000000"))


def descendants(pid: int, depth: int = 99) -> list[int]:
    """The processes below ``pid`` (children only with ``depth=1``), from /proc/<pid>/stat's parent field."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier and depth > 0:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier, depth = children, depth - 1
    return found


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample(
    peaks: dict[str, float], cpu: dict[int, tuple[str, float]], ticker: int, cluster: int, records: Path
) -> None:
    """Raise each role's peak memory to what its processes' VmHWM say now, and note their CPU time.

    Workers come and go (django-q2 recycles them), so this runs every few seconds.
    """
    workers = {int(p.stem.split("-")[1]) for p in records.glob("tasks-*.csv")}
    below = descendants(cluster)
    sentinels = set(descendants(cluster, depth=1))
    found = [("runbots (ticker)", ticker), ("qcluster main", cluster)]
    for pid in below:
        role = "sentinel" if pid in sentinels else "worker" if pid in workers else "pusher/monitor"
        found.append((f"qcluster {role}", pid))
    for role, pid in found:
        try:
            peaks[role] = max(peaks.get(role, 0.0), vm_hwm_mb(pid))
            cpu[pid] = (role, cpu_seconds(pid))
        except (FileNotFoundError, ProcessLookupError):
            pass  # gone since the listing


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def pairs_need_per_minute() -> float:
    """Upstream calls a minute the pairs need when every bot shares the cache, whatever the bot count.

    Per pair: its ticker once per ticker TTL, and per candle size in use its series
    once per TTL and whenever a new candle closes (reads run all through a tick,
    so an entry is refreshed as soon as its TTL has passed).
    """
    from django.conf import settings

    ticker = 60 / min(settings.MARKET_DATA_TTL_SECONDS, settings.MARKET_TICKER_TTL_SECONDS)
    closes = sum(60 / {"1m": 60, "5m": 300, "15m": 900}[g] for g in GRANULARITIES)
    candles = len(GRANULARITIES) * 60 / settings.MARKET_DATA_TTL_SECONDS + closes
    return PAIRS * (ticker + candles)


def read_rows(path: Path) -> list[list[str]]:
    with path.open() as f:
        return [row for row in csv.reader(f) if row]


def run_config(name: str, minutes: float, postgres_url: str) -> bool:
    """Set up, run and measure one configuration (this process becomes its Django)."""
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"autotrader-load-{name}-{secrets.token_hex(3)}"
    workdir.mkdir(parents=True)
    records = workdir / "records"
    records.mkdir()
    env = {
        "SIM_PAIRS": str(PAIRS),
        "SIM_SPEED": "1",
        "EVALUATION_DISPATCH": "queue",
        "EVALUATION_INTERVAL_SECONDS": str(INTERVAL),
        "Q_WORKERS": str(WORKERS),
        "MARKET_DATA": "simulated",
        "TRADING_MODE": "paper",
        "LOG_LEVEL": "WARNING",
    }
    redis = None
    database = None
    if name == "postgres":
        import psycopg

        redis, env["REDIS_URL"] = start_redis(workdir)
        database = f"autotrader_load_{secrets.token_hex(4)}"
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
    os.environ.update(env)
    procs: list[subprocess.Popen] = []
    try:
        data = django_setup(database_url=env.get("DATABASE_URL"))
        seed()
        from market.services import get_market_data

        market = get_market_data()
        market.stats_reset()
        child_env = {**os.environ, "DATA_DIR": str(data)}
        me = [sys.executable, str(Path(__file__).resolve())]
        with (workdir / "runbots.log").open("w") as log:
            ticker = subprocess.Popen(
                [*me, "--role", "runbots", "--records", str(records)],
                env=child_env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with (workdir / "qcluster.log").open("w") as log:
            cluster = subprocess.Popen(
                [*me, "--role", "qcluster", "--records", str(records)],
                env=child_env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: its sentinel and workers die with it
            )
        procs = [ticker, cluster]
        started = time.monotonic()
        while not (records / "ticks.csv").exists() or not read_rows(records / "ticks.csv"):
            if time.monotonic() - started > 120:
                raise RuntimeError(f"no tick after 2 minutes; see {workdir}")
            time.sleep(0.5)
        # The first tick fills every cache from cold: measure from the second on.
        first_bots = int(read_rows(records / "ticks.csv")[0][3])
        while sum(len(read_rows(p)) for p in records.glob("tasks-*.csv")) < first_bots:
            if time.monotonic() - started > 300:
                raise RuntimeError(f"the first tick did not finish in 5 minutes; see {workdir}")
            time.sleep(0.5)
        market.stats_reset()
        print(f"[{name}] warm; running {minutes:g} min (logs and records in {workdir})", flush=True)
        run_started = time.monotonic()
        loads: list[float] = []
        deadline = run_started + minutes * 60
        memory: dict[str, float] = {}
        cpu: dict[int, tuple[str, float]] = {}
        progress_at = run_started
        while time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a process exited with {proc.returncode}; see {workdir}")
            sample(memory, cpu, ticker.pid, cluster.pid, records)
            loads.append(os.getloadavg()[0])
            if time.monotonic() - progress_at >= 30:
                progress_at = time.monotonic()
                ticks = read_rows(records / "ticks.csv")
                done = sum(len(read_rows(p)) for p in records.glob("tasks-*.csv"))
                print(
                    f"[{name}] {progress_at - run_started:4.0f} s: {len(ticks)} ticks, {done} evaluations", flush=True
                )
        ticker.send_signal(signal.SIGTERM)
        ticker.wait(60)
        ran_for = time.monotonic() - run_started
        stats = market.stats()
        enqueued = sum(int(r[3]) for r in read_rows(records / "ticks.csv"))
        drained, last = -1, time.monotonic()
        while time.monotonic() - last < 3 * INTERVAL:  # until the queue is empty (or stuck)
            done = sum(len(read_rows(p)) for p in records.glob("tasks-*.csv"))
            if done >= enqueued:
                break
            if done != drained:
                drained, last = done, time.monotonic()
            time.sleep(1)
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(60)
        except subprocess.TimeoutExpired:
            cluster.kill()
        print(f"[{name}] load average over the run: {statistics.mean(loads or [0]):.1f} on {os.cpu_count()} CPUs")
        return analyse(name, workdir, records, memory, cpu, stats, ran_for)
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        if database:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if redis is not None:
            redis.kill()
            redis.wait()


def analyse(
    name: str,
    workdir: Path,
    records: Path,
    memory: dict,
    cpu: dict[int, tuple[str, float]],
    stats: dict,
    ran_for: float,
) -> bool:
    from django.db.models import Count

    from bots.models import ActivityEvent
    from trading.models import Order

    ticks = read_rows(records / "ticks.csv")
    tasks = [row for p in records.glob("tasks-*.csv") for row in read_rows(p)]
    started_at = {r[0]: float(r[1]) for r in ticks}
    enqueued = {r[0]: int(r[3]) for r in ticks}
    runs = Counter((r[0], r[1]) for r in tasks)
    outcomes = Counter(r[4] for r in tasks)
    finished: dict[str, float] = defaultdict(float)
    for r in tasks:
        finished[r[0]] = max(finished[r[0]], float(r[3]))
    # The first tick fills cold caches (price paths, candle series) in every worker: reported apart.
    durations = [finished[t] - started_at[t] for t in list(started_at)[1:] if t in finished]
    first = finished.get(ticks[0][0], float("nan")) - started_at[ticks[0][0]] if ticks else float("nan")
    enqueue_ms = [float(r[2]) for r in ticks[1:]]
    span = (max(float(r[3]) for r in tasks) - min(float(r[2]) for r in tasks)) if tasks else 1.0
    lost = sum(enqueued.values()) - len(runs)
    repeated = sum(n - 1 for n in runs.values() if n > 1)
    decisions = ActivityEvent.objects.filter(kind=ActivityEvent.Kind.DECISION).count()
    orders = Order.objects.count()
    doubled = Order.objects.values("decision_key").annotate(n=Count("id")).filter(n__gt=1).count()
    errors = ActivityEvent.objects.filter(level=ActivityEvent.Level.ERROR).count()
    failed_ticks = (workdir / "runbots.log").read_text(errors="replace").count("tick failed")

    print(
        f"\n== {name}: {BOTS} bots, {PAIRS} pairs, every {INTERVAL:g} s, {WORKERS} workers, {ran_for / 60:.1f} min =="
    )
    ok = True
    if durations:
        ok &= report("tick duration p50 (start to last evaluation)", statistics.median(durations), INTERVAL / 2, "s")
        ok &= report("tick duration p95 (start to last evaluation)", _p95(durations), INTERVAL / 2, "s")
    median_ms, p95_ms = statistics.median(enqueue_ms or [0]), _p95(enqueue_ms or [0])
    print(
        f"first tick (cold caches): {first:.1f} s; the ticker's own share: p50 {median_ms:.0f} ms, p95 {p95_ms:.0f} ms"
    )
    ok &= report("evaluations per second", len(tasks) / span, BOTS / INTERVAL, "/s", lower_is_better=False)
    # A task evaluates a batch of bots: each of its rows carries the task's start and end.
    runs_of_tasks = {(p.name, r[2], r[3]) for p in records.glob("tasks-*.csv") for r in read_rows(p)}
    busy = sum(float(end) - float(start) for _, start, end in runs_of_tasks)
    mean_ms = busy / len(tasks) * 1000
    print(
        f"{len(runs_of_tasks)} tasks of {len(tasks) / len(runs_of_tasks):.0f} bots; workers busy "
        f"{busy / (span * WORKERS):.0%} of the time; an evaluation takes {mean_ms:.1f} ms on average"
    )
    need = pairs_need_per_minute()
    ok &= report("upstream market-data calls per minute", stats["upstream_calls"] / (ran_for / 60), need, "/min")
    print(
        f"cache: hit rate {stats['hit_rate']:.3f}, {stats['upstream_calls']} upstream calls, {stats['errors']} errors"
    )
    for role, mb in sorted(memory.items()):
        ok &= report(f"peak memory, {role}", mb, MEMORY_TARGET_MB, "MB")
    by_role: Counter[str] = Counter()
    for role, seconds in cpu.values():
        by_role[role] += seconds
    print("CPU seconds by role: " + ", ".join(f"{role} {s:.0f}" for role, s in by_role.most_common()))
    workers_seen = len(list(records.glob("tasks-*.csv")))
    print(f"worker processes over the run: {workers_seen} (django-q2 recycles a worker after {_recycle()} tasks)")
    print(f"outcomes: {dict(sorted(outcomes.items()))}")
    print(
        f"lost evaluations: {lost}; repeated: {repeated}; decisions: {decisions}; orders: {orders}; "
        f"decisions with two orders: {doubled}; error events: {errors}; failed ticks: {failed_ticks}"
    )
    clean = lost == 0 and repeated == 0 and decisions == orders and doubled == 0 and errors == 0 and failed_ticks == 0
    clean &= outcomes["failed"] == outcomes["error"] == outcomes["stale"] == outcomes["busy"] == 0
    print(f"nothing lost or repeated, no error: {'PASS' if clean else 'FAIL'}")
    if ok and clean:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"(logs and records kept in {workdir})")
    return ok and clean


def _recycle() -> int:
    from django_q.conf import Conf

    return Conf.RECYCLE


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long each configuration runs (default 10)")
    parser.add_argument("--config", choices=("both", "sqlite", "postgres"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="a server to create the bench database on")
    parser.add_argument("--role", choices=("runbots", "qcluster"), help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        sys.path.insert(0, str(ROOT))
        (role_runbots if args.role == "runbots" else role_qcluster)(args.records)
        return 0
    if args.config != "both":
        return 0 if run_config(args.config, args.minutes, args.postgres_url) else 1
    failed = 0
    for config in ("sqlite", "postgres"):  # one at a time, each in a fresh process of its own
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--config",
                config,
                "--minutes",
                str(args.minutes),
                "--postgres-url",
                args.postgres_url,
            ],
            cwd=ROOT,
        )
        failed |= done.returncode
    return failed


if __name__ == "__main__":
    sys.exit(main())
