"""Indicator math over a whole float64 series, matching TA-Lib's values.

People check the bot's numbers against charting tools, and those follow TA-Lib,
so each function here reproduces TA-Lib's output values and NaN positions
(tests/bots/test_indicators.py compares them with the ``talib`` package).
The one deliberate difference is RSI on a series that has not moved at all:
see ``wilder_rsi``.

The loops run as small numba kernels. The recursive filters (EMA, Wilder's
smoothing) cannot be vectorised with numpy at all, and the running sum and the
crossing scan are one pass where numpy needs several temporary arrays. The
backtester feeds them hundreds of thousands of candles and the live path calls
them every tick. ``cache=True`` stores the compiled code beside this module
(or in the user's cache directory, or ``NUMBA_CACHE_DIR``), so only the first
run on a fresh install pays for compilation.

Inputs are 1-D float series without NaN; a NaN inside the series propagates
forward, as it does in TA-Lib.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NEUTRAL_RSI = 50.0


def _as_series(x: np.ndarray) -> np.ndarray:
    # One contiguous float64 layout keeps numba to a single compiled specialisation.
    return np.ascontiguousarray(x, dtype=np.float64)


@njit(cache=True)
def _sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    if n < 1:
        return out
    total = 0.0
    for i in range(len(x)):
        total += x[i]
        if i >= n - 1:
            out[i] = total / n
            total -= x[i - n + 1]
    return out


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average; the first value is at index ``n - 1``.

    A running sum, as TA-Lib keeps it: one pass with no temporaries, and its
    rounding drift stays far below a price's last digit even over millions of
    candles.
    """
    return _sma(_as_series(x), n)


@njit(cache=True)
def _ema(x: np.ndarray, n: int, first: int) -> np.ndarray:
    # Seeded at ``first`` by the mean of the n values ending there; TA-Lib's
    # classic seeding (and its MACD's fast line) are both this with a different ``first``.
    out = np.full(len(x), np.nan)
    if n < 1 or first < n - 1 or first >= len(x):
        return out
    total = 0.0
    for i in range(first - n + 1, first + 1):
        total += x[i]
    prev = total / n
    out[first] = prev
    k = 2.0 / (n + 1)
    for i in range(first + 1, len(x)):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average, k = 2/(n+1), seeded by the SMA of the first n values.

    The first value (index ``n - 1``) is that SMA, as in TA-Lib's default mode;
    seeding with the first price instead would make the early values depend on
    one arbitrary candle.
    """
    return _ema(_as_series(x), n, n - 1)


@njit(cache=True)
def _wilder_rsi(x: np.ndarray, n: int, flat: float) -> np.ndarray:
    out = np.full(len(x), np.nan)
    if n < 1 or len(x) <= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, n + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    gain /= n
    loss /= n
    total = gain + loss
    out[n] = 100.0 * gain / total if total != 0.0 else flat
    for i in range(n + 1, len(x)):
        # The operation order is TA-Lib's, so the values agree to rounding.
        d = x[i] - x[i - 1]
        gain *= n - 1
        loss *= n - 1
        if d < 0:
            loss -= d
        else:
            gain += d
        gain /= n
        loss /= n
        total = gain + loss
        out[i] = 100.0 * gain / total if total != 0.0 else flat
    return out


def wilder_rsi(close: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI; the first value (index ``n``) averages the first n changes.

    Matches TA-Lib except where the average gain and loss are both zero, in
    practice a price that has not moved since the series began: TA-Lib reports
    0, which would read as "deeply oversold, buy"; a market that has not moved
    is neither, so this reports the neutral 50.
    """
    return _wilder_rsi(_as_series(close), n, NEUTRAL_RSI)


def macd(close: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line, signal line and histogram, exactly as TA-Lib's MACD.

    TA-Lib's alignment differs from ``ema(fast) - ema(slow)`` in two ways,
    both reproduced here:

    - the fast EMA is seeded at the slow EMA's first index (``slow - 1``) by the
      mean of the ``fast`` closes ending there, not at index ``fast - 1``;
    - all three outputs start together, at ``slow + signal - 2``, where the
      signal line (an EMA of the MACD line seeded by the mean of its first
      ``signal`` values) first exists; the MACD line is NaN before that.
    """
    close = _as_series(close)
    start = slow - 1
    line = _ema(close, fast, start) - _ema(close, slow, start)
    first = start + signal - 1
    sig = _ema(line, signal, first)
    line[: min(first, len(line))] = np.nan
    return line, sig, line - sig


@njit(cache=True)
def _recent_zero_crosses(x: np.ndarray, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    up = np.zeros(len(x), dtype=np.bool_)
    down = np.zeros(len(x), dtype=np.bool_)
    last_up = last_down = -lookback - 1
    for i in range(1, len(x)):
        # NaN compares false, so nothing crosses out of (or into) a missing value.
        if x[i] > 0 and x[i - 1] <= 0:
            last_up = i
        elif x[i] < 0 and x[i - 1] >= 0:
            last_down = i
        up[i] = i - last_up < lookback
        down[i] = i - last_down < lookback
    return up, down


def recent_zero_crosses(x: np.ndarray, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether ``x`` crossed above / below zero within the last ``lookback`` values.

    A cross above happens at ``i`` when ``x[i] > 0`` and ``x[i-1] <= 0`` (the
    mirror for below), so touching zero and leaving it counts as a cross. The
    window is ``(i - lookback, i]``: it includes the cross at ``i`` itself, and
    a lookback of 0 never reports one. Nothing crosses where ``x[i-1]`` is NaN:
    a series does not cross out of having no value. A single pass (numba)
    because numpy needs half a dozen temporary arrays for the same thing.
    """
    return _recent_zero_crosses(_as_series(x), lookback)
