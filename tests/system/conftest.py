"""Fixtures for the system tests: PostgreSQL, a private Redis, the fake Coinbase, real processes.

The fault tests need services a bare machine lacks, so they skip unless the
suite runs on PostgreSQL with Redis (CI's second pass, ``.ci/run``) and
``redis-server`` is installed. They start their own Redis on a spare port (to
stop and start it) and a fresh database per test, copied from one migrated
template per run and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
import psycopg
import pytest

from market.clock import WallClock
from market.simulated import SimulatedMarket
from tests.coinbase.conftest import TestKey, make_key
from tests.fake_coinbase import CertPaths, CoinbaseState, FakeCoinbase, make_certs
from tests.system.harness import LAUNCH, ROOT, Cluster, RedisServer, SystemDB, TcpProxy

# Small, so that a failover or a kill plays out in seconds.
INTERVAL = 1.0  # EVALUATION_INTERVAL_SECONDS
LEASE = 3.0  # RUNNER_LEASE_SECONDS: the ticker lease lasts max(LEASE, 3 x INTERVAL)
STARTING_USD = Decimal("10000")


def _skip_reason() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return "system tests need PostgreSQL: set DATABASE_URL=postgres://... (CI's second pass does)"
    if not os.environ.get("REDIS_URL"):
        return "system tests run with Redis: set REDIS_URL (CI's second pass does)"
    if shutil.which("redis-server") is None:
        return "system tests start their own Redis: redis-server is not installed"
    return None


FAILED = pytest.StashKey[bool]()


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    """Note a failed test, so that its teardown prints the processes' logs."""
    if call.when == "call" and call.excinfo is not None:
        item.stash[FAILED] = True


@pytest.fixture(scope="session")
def services() -> str:
    """Skip (with why) unless PostgreSQL, Redis and redis-server are there; the server's URL."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    return os.environ["DATABASE_URL"]


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def _url_for(server_url: str, name: str) -> str:
    config = dj_database_url.parse(server_url)
    auth = config["USER"] + (f":{config['PASSWORD']}" if config.get("PASSWORD") else "")
    return f"postgres://{auth}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{name}"


@pytest.fixture(scope="session")
def template_db(services: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per run (``autotrader_system_<random>_t``); each test copies it."""
    name = f"autotrader_system_{secrets.token_hex(4)}"
    with _admin(services) as admin:
        admin.execute(f'CREATE DATABASE "{name}_t"')
    env = {
        **os.environ,
        "DATABASE_URL": _url_for(services, f"{name}_t"),
        "DJANGO_SETTINGS_MODULE": "autotrader.settings",
        "DJANGO_SECRET_KEY": "system-tests-only",
        "DATA_DIR": str(tmp_path_factory.mktemp("system-data")),
        "REDIS_URL": "",
    }
    done = subprocess.run(
        [sys.executable, str(LAUNCH), "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield name
    with _admin(services) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}_t" WITH (FORCE)')


@pytest.fixture
def system_db(services: str, template_db: str) -> Iterator[SystemDB]:
    """A fresh, migrated database for one test (a copy of the template), dropped after it."""
    name = f"{template_db}_{secrets.token_hex(2)}"
    with _admin(services) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}_t"')
    db = SystemDB(_url_for(services, name))
    yield db
    db.close()
    with _admin(services) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_server(services: str, tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    return make_certs(tmp_path_factory.mktemp("system-certs"))


@pytest.fixture(scope="session")
def key() -> TestKey:
    return make_key()


@pytest.fixture(scope="session")
def exchange_market() -> SimulatedMarket:
    """The fake's prices, on the real clock (the processes read it too); two days of history."""
    epoch = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    return SimulatedMarket(seed=7, epoch=epoch, clock=WallClock())


@pytest.fixture
def fake(services: str, certs: CertPaths, key: TestKey, exchange_market: SimulatedMarket) -> Iterator[FakeCoinbase]:
    state = CoinbaseState(exchange_market, WallClock(), balances={"USD": STARTING_USD})
    server = FakeCoinbase(state, certs, key_name=key.name, public_key=key.public_key).start()
    yield server
    server.stop()


@pytest.fixture
def cluster(
    request: pytest.FixtureRequest,
    system_db: SystemDB,
    redis_server: RedisServer,
    fake: FakeCoinbase,
    certs: CertPaths,
    key: TestKey,
    tmp_path: Path,
) -> Iterator[Cluster]:
    """The environment of live trading on the fake, queue dispatch, PostgreSQL and the private Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COINBASE_", "PYTEST", "SIM_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="autotrader.settings",
        DJANGO_SECRET_KEY="system-tests-only",
        DATA_DIR=str(tmp_path),
        DATABASE_URL=system_db.url,
        REDIS_URL=redis_server.url,
        MARKET_DATA="coinbase",
        TRADING_MODE="live",
        COINBASE_BASE_URL=fake.base_url,
        COINBASE_CA_BUNDLE=str(certs.ca),
        COINBASE_API_KEY=key.name,
        COINBASE_API_SECRET=key.pem.replace("\n", "\\n"),
        COINBASE_TIMEOUT_SECONDS="5",
        EVALUATION_DISPATCH="queue",
        EVALUATION_INTERVAL_SECONDS=str(INTERVAL),
        RUNNER_LEASE_SECONDS=str(LEASE),
        BACKOFF_BASE_SECONDS="0.2",
        BACKOFF_MAX_SECONDS="2",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Cluster(env, logs)
    yield running
    running.stop_all()
    if request.node.stash.get(FAILED, False):
        print(running.tails())


@pytest.fixture
def db_proxy(cluster: Cluster, system_db: SystemDB) -> Iterator[TcpProxy]:
    """Put the processes' database behind a proxy the test can cut (the test itself connects directly)."""
    config = dj_database_url.parse(system_db.url)
    proxy = TcpProxy(config["HOST"], int(config["PORT"]))
    cluster.env["DATABASE_URL"] = system_db.url.replace(f":{config['PORT']}/", f":{proxy.port}/")
    yield proxy
    proxy.close()
