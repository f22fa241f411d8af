"""The fake Coinbase server and adapters pointed at it through the real SDK.

Every test here runs with the wall clock frozen at ``SIM_START`` by
time-machine (``cb_clock``; move it with ``cb_clock.shift(...)``): the
Coinbase adapter reads the wall clock, and the fake's simulated market runs
on it too, so both sides agree on what "now" is. TLS is checked against the
real clock, which the test certificates' wide validity window covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from market.cache import CachedMarketData
from market.clock import WallClock
from market.coinbase import CoinbaseExchange, CoinbaseMarketData
from market.simulated import SimulatedMarket
from tests.conftest import SIM_EPOCH, SIM_START
from tests.fake_coinbase import CertPaths, CoinbaseState, FakeCoinbase, make_certs

KEY_NAME = "organizations/0f1e2d3c-test-org/apiKeys/9a8b7c6d-test-key"
TIMEOUT = 0.5  # seconds; short, so faults that outlast it keep the tests quick


@dataclass(frozen=True)
class TestKey:
    name: str
    pem: str  # as the CDP portal gives it: -----BEGIN EC PRIVATE KEY-----
    public_key: Any


def make_key(name: str = KEY_NAME) -> TestKey:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    return TestKey(name, pem, private.public_key())


@pytest.fixture(scope="session")
def coinbase_certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    return make_certs(tmp_path_factory.mktemp("fake-coinbase-certs"))


@pytest.fixture(scope="session")
def coinbase_key() -> TestKey:
    return make_key()


@pytest.fixture(autouse=True)
def cb_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(SIM_START, tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def fake_market() -> SimulatedMarket:
    """The fake's prices: a pure function of time, so one instance (and its path cache) serves every test."""
    return SimulatedMarket(seed=7, epoch=SIM_EPOCH, clock=WallClock())


@pytest.fixture
def fake_coinbase(
    coinbase_certs: CertPaths, coinbase_key: TestKey, fake_market: SimulatedMarket, cb_clock
) -> Iterator[FakeCoinbase]:
    """The fake with 1,000 USD in the account; its market is the simulated one (seed 7) on the wall clock."""
    state = CoinbaseState(fake_market, WallClock(), balances={"USD": Decimal("1000")})
    fake = FakeCoinbase(state, coinbase_certs, key_name=coinbase_key.name, public_key=coinbase_key.public_key)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def coinbase_settings(settings, fake_coinbase: FakeCoinbase, coinbase_certs: CertPaths, coinbase_key: TestKey):
    """Settings that point the adapters at the fake, the secret written as an env file holds it."""
    settings.COINBASE_BASE_URL = fake_coinbase.base_url
    settings.COINBASE_CA_BUNDLE = str(coinbase_certs.ca)
    settings.COINBASE_API_KEY = coinbase_key.name
    settings.COINBASE_API_SECRET = coinbase_key.pem.replace("\n", "\\n")
    settings.COINBASE_KEY_FILE = ""
    settings.COINBASE_TIMEOUT_SECONDS = TIMEOUT
    return settings


@pytest.fixture
def cb_exchange(coinbase_settings) -> CoinbaseExchange:
    exchange = CoinbaseExchange.from_settings()
    exchange.rest.retry_base_seconds = 0.01
    return exchange


@pytest.fixture
def cb_market(coinbase_settings) -> CoinbaseMarketData:
    market = CoinbaseMarketData.from_settings()
    market.rest.retry_base_seconds = 0.01
    return market


@pytest.fixture
def live_market(cb_market: CoinbaseMarketData, db) -> CachedMarketData:
    """Coinbase market data (from the fake) behind the cache, as the process's market; products synced."""
    from market.services import market_use, products_sync

    cached = CachedMarketData(cb_market)
    market_use(cached)
    products_sync()
    return cached


@pytest.fixture
def live_bot(live_market: CachedMarketData, fixed_signal):
    """Make a running live bot driven by the fixed signal."""
    from bots.models import Bot
    from bots.services import bot_create, bot_start

    def make(score: float = 1.0, **fields) -> Bot:
        values = {
            "name": f"live-{Bot.objects.count() + 1}",
            "product_id": "BTC-USD",
            "live": True,
            "signal_config": {"fixed": {"enabled": True, "weight": 1.0, "score": score}},
            "confirmation_minutes": 0,
            "cooldown_minutes": 0,
            **fields,
        }
        return bot_start(bot=bot_create(**values), at=live_market.now())

    return make
