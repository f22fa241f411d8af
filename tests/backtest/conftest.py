"""Fixtures for the backtester: a product, candle series and a config builder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from bots.config import BotConfig, bot_config_from_values
from market.clock import ManualClock
from market.simulated import SimulatedMarket
from market.types import Candles, Granularity, Product
from tests.conftest import make_candles
from trading.backtest import BacktestData, BacktestSettings

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC, a midnight
G5 = Granularity.FIVE_MINUTE
# Short periods: the live window (history_needed) is shorter than the series, so it slides.
FAST_SIGNALS = {
    "rsi": {"enabled": True, "weight": 0.4, "period": 6, "buy_threshold": 35, "sell_threshold": 65},
    "moving_average": {"enabled": True, "weight": 0.3, "fast_period": 4, "slow_period": 9, "ma_type": "ema"},
    "macd": {"enabled": True, "weight": 0.3, "fast_period": 5, "slow_period": 13, "signal_period": 4},
}


@pytest.fixture(scope="session")
def btc() -> Product:
    """BTC-USD as the simulated market lists it (Coinbase's increments and minimums)."""
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    return SimulatedMarket(seed=7, epoch=epoch, clock=ManualClock(epoch)).product("BTC-USD")


def walk(n: int, *, seed: int = 11, vol: float = 0.004, price: float = 30_000.0, start: int = T0) -> Candles:
    """A seeded random walk of five-minute candles; open = previous close."""
    rng = np.random.default_rng(seed)
    close = price * np.exp(np.cumsum(rng.normal(0, vol, n)))
    return make_candles(close, start=start, step=300)


def swings(n: int, *, seed: int = 11, start: int = T0, period: int = 48) -> Candles:
    """Prices swinging in cycles (with noise and a slow drift): signals that cross their thresholds often."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    log = 0.02 * np.sin(2 * np.pi * i / period) + 0.012 * np.sin(2 * np.pi * i / (period * 3.7))
    close = 30_000.0 * np.exp(log + np.cumsum(rng.normal(0, 0.0025, n)))
    return make_candles(close, start=start, step=300)


def config(**values) -> BotConfig:
    return bot_config_from_values({"signal_config": FAST_SIGNALS, "confirmation_minutes": 0, **values})


def data(candles: Candles, product: Product, **settings) -> BacktestData:
    return BacktestData(candles, product, G5, BacktestSettings(**settings))


def money(value: str) -> Decimal:
    return Decimal(value)
