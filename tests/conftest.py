"""Shared fixtures for the whole suite."""

from __future__ import annotations

import numpy as np
import pytest

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
