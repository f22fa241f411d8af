"""Shared fixtures for the whole suite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from bots.models import Bot
from bots.signals import REGISTRY, Param, Signal, SignalSeries
from market.cache import CachedMarketData
from market.clock import ManualClock
from market.paper import PaperExchange
from market.simulated import SimulatedMarket
from market.types import Candles


def make_candles(close: np.ndarray, *, start: int = 1_700_000_000, step: int = 300) -> Candles:
    """Candles around a close series: open is the previous close, high/low bracket both."""
    close = np.asarray(close, dtype=np.float64)
    opens = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(opens, close) * 1.001
    low = np.minimum(opens, close) * 0.999
    t = start + step * np.arange(len(close), dtype=np.int64)
    return Candles(t, opens, high, low, close, np.ones(len(close)))


@pytest.fixture
def random_walk() -> Candles:
    """A seeded geometric random walk of 1,000 five-minute candles."""
    rng = np.random.default_rng(42)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, 1000)))
    return make_candles(close)


# --- the market, the paper exchange and the database ------------------------
SIM_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SIM_START = SIM_EPOCH + timedelta(days=10)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (the suite may share a real Redis)."""
    from django.core.cache import cache

    cache.clear()
    yield
    from market.services import market_reset

    market_reset()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SIM_START)


@pytest.fixture
def sim(clock: ManualClock) -> SimulatedMarket:
    return SimulatedMarket(seed=7, epoch=SIM_EPOCH, clock=clock)


@pytest.fixture
def market(sim: SimulatedMarket, db) -> CachedMarketData:
    """The simulated market behind the cache, installed as the process's market, products synced."""
    from market.services import market_use, products_sync

    cached = CachedMarketData(sim)
    market_use(cached)
    products_sync()
    return cached


@pytest.fixture
def exchange(market: CachedMarketData) -> PaperExchange:
    return PaperExchange(market, fee_rate=Decimal("0.006"), slippage_rate=Decimal("0.0005"))


@pytest.fixture
def wallet(exchange: PaperExchange) -> PaperExchange:
    """The paper exchange with 1,000 USD."""
    from market.paper import paper_deposit

    paper_deposit("USD", Decimal("1000"))
    return exchange


# --- a signal whose score the test sets: drives the engine deterministically ---
class FixedSignal(Signal):
    """Scores what its ``score`` parameter says, on any data."""

    name = "fixed"
    label = "Fixed"
    params = (Param("score", float, 0.0, -1, 1),)

    def min_candles(self) -> int:
        return 1

    def series(self, candles: Candles) -> SignalSeries:
        return SignalSeries(np.full(len(candles), float(self.p["score"])), {})


@pytest.fixture
def fixed_signal():
    REGISTRY["fixed"] = FixedSignal
    yield FixedSignal
    REGISTRY.pop("fixed", None)


@pytest.fixture
def make_bot(market, fixed_signal):
    """Create a running bot driven by the fixed signal (score set per test)."""
    from bots.services import bot_create, bot_start

    def make(score: float = 1.0, **fields) -> Bot:
        values = {
            "name": f"bot-{Bot.objects.count() + 1}",
            "product_id": "BTC-USD",
            "signal_config": {"fixed": {"enabled": True, "weight": 1.0, "score": score}},
            "confirmation_minutes": 0,
            "cooldown_minutes": 0,
            **fields,
        }
        bot = bot_create(**values)
        return bot_start(bot=bot, at=market.now())

    return make


def set_score(bot: Bot, score: float) -> None:
    bot.signal_config = {"fixed": {"enabled": True, "weight": 1.0, "score": score}}
    bot.save(update_fields=["signal_config"])


DB_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server", "admin_client", "admin_user", "client"}


def pytest_collection_modifyitems(items):
    """Mark tests that touch the database ``db``: ``-m "not db and not slow"`` runs the pure core."""
    for item in items:
        if item.get_closest_marker("django_db") or DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
