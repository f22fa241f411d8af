"""Real processes against real services: what the system tests start, stop, kill and read.

``Cluster`` starts ``runbots`` and ``runworkers`` (or a bare ``qcluster``) as
subprocesses (through ``launch.py``, so they know the suite's fixed signal), each
in its own process group with its output in a log file. ``RedisServer`` is a private
``redis-server`` the test can stop and start again on the same port.
``SystemDB`` reads the processes' PostgreSQL database with plain SQL: the test
process's own Django database is pytest-django's, not theirs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from market.types import Side
from tests.fake_coinbase import FakeCoinbase

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = Path(__file__).resolve().parent / "launch.py"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], T], *, timeout: float, what: str, every: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def pid_of(owner: str) -> int:
    """The pid in a lease owner or heartbeat name (``role@host:pid``)."""
    return int(owner.rsplit(":", 1)[1])


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """A process's state letter, parent and process group (from /proc), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), int(fields[2])


def living(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (a zombie is dead, only not yet reaped)."""
    return [pid for pid in pids if (stat := proc_stat(pid)) is not None and stat[0] != "Z"]


def children(parent: int) -> list[int]:
    """The living processes whose parent is ``parent``."""
    pids = [int(e.name) for e in os.scandir("/proc") if e.name.isdigit()]
    return [pid for pid in living(pids) if (stat := proc_stat(pid)) is not None and stat[1] == parent]


def process_group(pgid: int) -> list[int]:
    """The living processes of a process group."""
    pids = [int(e.name) for e in os.scandir("/proc") if e.name.isdigit()]
    return [pid for pid in living(pids) if (stat := proc_stat(pid)) is not None and stat[2] == pgid]


# --- Redis ---------------------------------------------------------------------
class RedisServer:
    """A throwaway ``redis-server`` (no persistence) that can be stopped and started on its port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.ping, timeout=10, what=f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


# --- a database that can go away --------------------------------------------
class TcpProxy:
    """Forwards a local port to a server; ``cut()`` drops every connection and refuses new
    ones (as a database restarting does) until ``restore()``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.up = False
        with self._lock:
            doomed, self._open = self._open, set()
        for s in doomed:
            _close(s)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        _close(self.listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.up:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


# --- the processes' database -------------------------------------------------
class SystemDB:
    """Plain-SQL reads (and a few writes) on the database the processes share."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)

    def close(self) -> None:
        self.conn.close()

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def orders(self, bot_id: int | None = None) -> list[dict[str, Any]]:
        where = "" if bot_id is None else " where bot_id = %s"
        args = () if bot_id is None else (bot_id,)
        return self.rows(f"select * from trading_order{where} order by id", *args)

    def filled(self, bot_id: int) -> list[dict[str, Any]]:
        return [o for o in self.orders(bot_id) if o["status"] == "FILLED"]

    def position(self, bot_id: int) -> Decimal:
        row = self.rows("select base_size from trading_position where bot_id = %s", bot_id)
        return row[0]["base_size"] if row else Decimal("0")

    def lease_owner(self) -> str:
        row = self.rows("select owner from trading_lease where name = 'ticker' and until > now()")
        return row[0]["owner"] if row else ""

    def heartbeats(self, role: str) -> list[dict[str, Any]]:
        return self.rows("select * from trading_heartbeat where role = %s order by name", role)

    def events(self, *, level: str | None = None, contains: str = "") -> list[dict[str, Any]]:
        rows = self.rows("select * from trading_activityevent where message like %s order by id", f"%{contains}%")
        return [r for r in rows if level is None or r["level"] == level]

    def bot(self, bot_id: int) -> dict[str, Any]:
        return self.rows("select * from bots_bot where id = %s", bot_id)[0]

    def set_score(self, bot_id: int, score: float) -> None:
        config = {"fixed": {"enabled": True, "weight": 1.0, "score": score}}
        self.rows("update bots_bot set signal_config = %s where id = %s", json.dumps(config), bot_id)


# --- the processes -----------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """Subprocesses of the system under test, sharing one environment."""

    env: dict[str, str]
    logs: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, *args: str, **env: str) -> Proc:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, str(LAUNCH), *args],
                cwd=ROOT,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: qcluster's children die with it
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def ticker(self, name: str = "ticker") -> Proc:
        return self.start(name, "runbots")

    def worker(self, name: str = "worker", *, workers: int = 1, command: str = "runworkers", **env: str) -> Proc:
        """The workers as start.sh runs them (``runworkers``), or django-q2's bare ``qcluster``."""
        return self.start(name, command, Q_WORKERS=str(workers), **env)

    def manage(self, *args: str, **env: str) -> str:
        """Run a management command (``system_status``) in the processes' environment; its output."""
        done = subprocess.run(
            [sys.executable, str(LAUNCH), *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def seed(self, bots: list[dict[str, Any]]) -> list[int]:
        """Create running bots (through the real services, in a subprocess); returns their ids."""
        done = subprocess.run(
            [sys.executable, str(LAUNCH), "seed", json.dumps({"bots": bots})],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def kill(self, proc: Proc) -> None:
        """SIGKILL a process (just it: a qcluster's children live on unless killed too)."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.popen.wait(10)

    def kill_pid(self, pid: int) -> None:
        """SIGKILL one process by pid (a qcluster's worker child, found through a lease owner)."""
        os.kill(pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            proc.popen.wait(10)

    def tails(self, lines: int = 40) -> str:
        """The end of every process's log, for a failure's report."""
        out = []
        for proc in self.procs:
            text = proc.output().splitlines()[-lines:]
            out.append(f"----- {proc.name} (pid {proc.pid}) -----\n" + "\n".join(text))
        return "\n".join(out)

    def grep(self, pattern: str) -> list[str]:
        """Log lines of every process matching ``pattern``."""
        regex = re.compile(pattern)
        return [line for p in self.procs for line in p.output().splitlines() if regex.search(line)]


# --- the assertions every scenario ends with --------------------------------
def assert_one_post_per_decision(fake: FakeCoinbase, db: SystemDB) -> None:
    """Every order row (one per decision: the decision key is unique) reached the exchange
    exactly once, no client_order_id was posted twice, and nothing else was posted."""
    posts = Counter(fake.order_posts())
    twice = {cid: n for cid, n in posts.items() if n > 1}
    assert not twice, f"client_order_ids posted more than once: {twice}"
    orders = db.orders()
    assert len({o["decision_key"] for o in orders}) == len(orders)
    assert set(posts) == {o["client_order_id"] for o in orders}
    decisions = db.rows("select count(*) as n from trading_activityevent where kind = 'decision'")[0]["n"]
    assert decisions == len(orders), f"{decisions} decisions recorded, {len(orders)} orders"


def assert_positions_equal_fills(fake: FakeCoinbase, db: SystemDB, bot_ids: list[int]) -> None:
    """Each bot's position and trades are exactly what the exchange filled for its orders."""
    bot_of = {o["client_order_id"]: o["bot_id"] for o in db.orders()}
    by_order = {o.order_id: bot_of.get(o.client_order_id) for o in fake.state.orders}
    held: dict[int, Decimal] = {b: Decimal("0") for b in bot_ids}
    fills: dict[int, set[tuple[str, Decimal, Decimal]]] = {b: set() for b in bot_ids}
    for f in fake.state.all_fills():
        bot = by_order[f.order_id]
        assert bot is not None, f"the exchange filled order {f.order_id}, which no bot knows"
        held[bot] += f.base if f.side is Side.BUY else -f.base
        fills[bot].add((f.entry_id, f.base, f.commission))
    for bot in bot_ids:
        trades = db.rows("select trade_id, size, fee from trading_trade where bot_id = %s", bot)
        assert {(t["trade_id"], t["size"], t["fee"]) for t in trades} == fills[bot], f"bot {bot}"
        assert db.position(bot) == held[bot], f"bot {bot}: position {db.position(bot)}, fills add up to {held[bot]}"
