"""Indicator math against TA-Lib, and against values worked out by hand."""

from __future__ import annotations

import gzip
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import talib

from bots.signals.indicators import NEUTRAL_RSI, ema, macd, recent_zero_crosses, sma, wilder_rsi

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def random_walk(n: int = 5000, seed: int = 42) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))


def market_like(n: int = 5000, seed: int = 7) -> np.ndarray:
    """Trends, ranges and volatility bursts, priced in ticks so some closes repeat."""
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.normal(0, 0.002, n // 250 + 1), 250)[:n]
    vol = np.repeat(rng.choice([0.001, 0.003, 0.012], n // 100 + 1, p=[0.3, 0.5, 0.2]), 100)[:n]
    close = 0.35 * np.exp(np.cumsum(drift + vol * rng.standard_t(4, n)))
    return np.round(close, 4)


SERIES = {"random_walk": random_walk(), "market_like": market_like()}


def assert_matches(ours: np.ndarray, reference: np.ndarray) -> None:
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(reference), err_msg="NaN positions differ")
    defined = ~np.isnan(reference)
    np.testing.assert_allclose(ours[defined], reference[defined], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("n", [2, 10, 20, 50, 200])
def test_sma_and_ema_match_talib(name, n):
    x = SERIES[name]
    assert_matches(sma(x, n), talib.SMA(x, n))
    assert_matches(ema(x, n), talib.EMA(x, n))


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("n", [2, 9, 14, 30])
def test_wilder_rsi_matches_talib(name, n):
    x = SERIES[name]
    assert_matches(wilder_rsi(x, n), talib.RSI(x, n))


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("periods", [(12, 26, 9), (5, 35, 5), (3, 10, 16), (2, 3, 2)])
def test_macd_matches_talib(name, periods):
    x = SERIES[name]
    for ours, reference in zip(macd(x, *periods), talib.MACD(x, *periods), strict=True):
        assert_matches(ours, reference)


def test_macd_is_not_the_difference_of_two_plain_emas():
    # TA-Lib seeds the fast EMA at the slow EMA's first index; the naive
    # difference differs visibly for a good while, which is why macd() exists.
    x = SERIES["random_walk"]
    line = macd(x, 12, 26, 9)[0]
    naive = ema(x, 12) - ema(x, 26)
    assert np.nanmax(np.abs(line[33:60] - naive[33:60])) > 1e-3
    assert np.isnan(line[:33]).all() and not np.isnan(naive[25:33]).any()


@pytest.mark.parametrize("n", [1, 5, 29])
def test_series_shorter_than_the_period_are_all_nan(n):
    x = random_walk(n)
    for values in (sma(x, 30), ema(x, 30), wilder_rsi(x, 30), *macd(x, 12, 26, 9)):
        assert len(values) == n and np.isnan(values).all()
    assert len(sma(np.array([]), 3)) == len(wilder_rsi(np.array([]), 3)) == len(macd(np.array([]), 2, 3, 2)[2]) == 0


def test_accepts_lists_and_integer_prices():
    np.testing.assert_array_equal(sma([1, 2, 3, 4], 2), [np.nan, 1.5, 2.5, 3.5])


def test_sma_and_ema_by_hand():
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    np.testing.assert_allclose(sma(x, 3), [np.nan, np.nan, 2, 3, 4, 5])
    # EMA(3): seeded by the mean of the first three (2), then k = 2/(3+1) = 0.5.
    np.testing.assert_allclose(ema(x, 3), [np.nan, np.nan, 2, 3, 4, 5])
    np.testing.assert_allclose(ema([2.0, 4.0, 6.0, 10.0, 0.0], 2), [np.nan, 3, 5, 25 / 3, 25 / 9])


def test_wilder_rsi_by_hand():
    # Changes +1, -0.5, +1 | +0.5 | -1. First averages: gain 2/3, loss 0.5/3 -> 80.
    # Then gain (2/3*2 + 0.5)/3 = 11/18, loss (1/6*2)/3 = 2/18 -> 1100/13.
    # Then gain (11/18*2)/3 = 11/27, loss (2/18*2 + 1)/3 = 11/27 -> 50.
    close = [10.0, 11.0, 10.5, 11.5, 12.0, 11.0]
    np.testing.assert_allclose(wilder_rsi(close, 3), [np.nan, np.nan, np.nan, 80, 1100 / 13, 50])


def plain_rsi(close: list[float], n: int) -> list[float | None]:
    """Wilder's RSI in exact fractions, straight from the textbook."""
    values = [Fraction(c) for c in close]
    changes = [b - a for a, b in pairwise(values)]
    out: list[float | None] = [None] * len(close)
    gain = sum(max(c, 0) for c in changes[:n]) / n
    loss = sum(max(-c, 0) for c in changes[:n]) / n
    out[n] = float(100 * gain / (gain + loss))
    for i in range(n, len(changes)):
        gain = (gain * (n - 1) + max(changes[i], 0)) / n
        loss = (loss * (n - 1) + max(-changes[i], 0)) / n
        out[i + 1] = float(100 * gain / (gain + loss))
    return out


@pytest.mark.parametrize("n", [2, 5, 14])
def test_wilder_rsi_matches_an_exact_textbook_computation(n):
    close = list(market_like(80, seed=n))
    expected = np.array([np.nan if v is None else v for v in plain_rsi(close, n)])
    np.testing.assert_allclose(wilder_rsi(np.array(close), n), expected, rtol=1e-12)


def test_macd_by_hand():
    # fast 2, slow 3, signal 2 on 1..6. Slow EMA(3) seeded at index 2 by mean(1,2,3) = 2;
    # fast EMA(2) seeded at the same index by mean(2,3) = 2.5 (TA-Lib's alignment).
    # k_fast = 2/3, k_slow = 1/2. Index 3: fast 2.5 + (4-2.5)*2/3 = 3.5, slow 2 + (4-2)/2 = 3.
    # MACD line: 0.5, 0.5, 0.5, 0.5 from index 2; the signal (EMA 2) is seeded at index 3
    # by mean(0.5, 0.5) and stays 0.5; outputs start at index 3.
    line, signal, histogram = macd(np.arange(1.0, 7.0), 2, 3, 2)
    nan = np.nan
    np.testing.assert_allclose(line, [nan, nan, nan, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(signal, [nan, nan, nan, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(histogram, [nan, nan, nan, 0, 0, 0], atol=1e-15)
    for ours, reference in zip((line, signal, histogram), talib.MACD(np.arange(1.0, 7.0), 2, 3, 2), strict=True):
        assert_matches(ours, reference)


def test_rsi_of_a_market_that_has_not_moved_is_neutral():
    # The one deliberate difference from TA-Lib, which reports 0 ("oversold").
    flat = np.full(40, 123.45)
    assert talib.RSI(flat, 14)[-1] == 0
    np.testing.assert_array_equal(wilder_rsi(flat, 14)[14:], NEUTRAL_RSI)
    # Once it moves, the usual values return: a rise from flat is 100.
    rising = np.concatenate([flat, [124.0]])
    assert wilder_rsi(rising, 14)[-1] == talib.RSI(rising, 14)[-1] == 100


def test_recent_zero_crosses():
    x = np.array([np.nan, 1.0, -1.0, -2.0, 0.0, 0.0, 3.0, 4.0, 5.0, 6.0])
    up, down = recent_zero_crosses(x, 2)
    # Crossed below at 2, above at 6 (touching zero at 4-5 does not count until it leaves).
    np.testing.assert_array_equal(down, [0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(up, [0, 0, 0, 0, 0, 0, 1, 1, 0, 0])
    assert not recent_zero_crosses(x, 0)[0].any()
    # Nothing crosses out of a missing value.
    assert not recent_zero_crosses(np.array([np.nan, 1.0, 2.0]), 3)[0].any()


def read_closes(path: Path) -> np.ndarray:
    with gzip.open(path, "rt") as f:
        header = f.readline().strip().split(",")
        return np.loadtxt(f, delimiter=",", usecols=header.index("close"), dtype=np.float64)


@pytest.mark.parametrize("filename", ["BTC-USD_1d.csv.gz", "NXT-BTC_5m.csv.gz", "XRP-ETH_1m.csv.gz"])
def test_indicators_match_talib_on_real_prices(filename):
    path = SHARED_DATA / filename
    if not path.exists():
        pytest.skip(f"real market data not available at {path}")
    close = read_closes(path)
    assert_matches(sma(close, 20), talib.SMA(close, 20))
    assert_matches(ema(close, 20), talib.EMA(close, 20))
    for ours, reference in zip(macd(close, 12, 26, 9), talib.MACD(close, 12, 26, 9), strict=True):
        assert_matches(ours, reference)
    rsi, reference = wilder_rsi(close, 14), talib.RSI(close, 14)
    # Only a market flat since the first candle may differ (see the test above).
    flat = (rsi == NEUTRAL_RSI) & (reference == 0)
    assert_matches(rsi[~flat], reference[~flat])
