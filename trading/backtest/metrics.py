"""The numbers a trader reads off a backtest, with their definitions.

Over an equity curve marked at each candle's close (cash plus the position at
the close):

- total return: final / initial - 1; CAGR: (final / initial) ** (1 / years) - 1,
  years being the curve's span over 365.25 days (crypto trades every day);
- maximum drawdown: the largest fall from a running peak, as a fraction of the
  peak and in quote currency; its duration is the longest time spent below a
  peak (from the peak to the close that regained it, or to the end);
- Sharpe: mean / sample standard deviation of the per-candle returns, times
  sqrt(candles per year); Sortino: the mean over the downside deviation
  (root mean square of the negative returns, over all candles), annualised the
  same way; no risk-free rate. Calmar: CAGR / maximum drawdown.

Over the closed round trips (first buy to the sell that exits): win rate
(P&L above zero), profit factor (gross profit / gross loss), average, best
and worst P&L in quote currency and as a share of the round trip's cost.
A figure that is undefined (no trades, no losses, no volatility) is None.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

YEAR_SECONDS = 365.25 * 86_400


@njit(cache=True, error_model="numpy")
def _curve(equity: np.ndarray, times: np.ndarray) -> tuple[int, float, float, float, float, float, int]:
    """One pass: (returns, mean, sum of squared deviations, downside sum of squares,
    max drawdown fraction, max drawdown value, longest time under a peak)."""
    n = len(equity) - 1
    total = squares = down = 0.0
    peak, peak_time = equity[0], times[0]
    max_dd = max_dd_value = 0.0
    deepest = peak  # equity below this sets a new max drawdown: avoids a division per candle
    longest = 0
    for i in range(1, n + 1):
        value, before = equity[i], equity[i - 1]
        # Branch-free: a return's sign is a coin toss the processor cannot predict.
        r = value / before - 1.0
        r = r if before > 0 else 0.0
        total += r
        squares += r * r
        loss = min(r, 0.0)
        down += loss * loss
        if value >= peak:
            if before < peak:  # under water from the peak's close to the close that regains it
                longest = max(longest, times[i] - peak_time)
            peak, peak_time = value, times[i]
            deepest = peak * (1.0 - max_dd)
            continue
        longest = max(longest, times[i] - peak_time)  # to the last close, if never regained
        max_dd_value = max(max_dd_value, peak - value)
        if value < deepest:
            max_dd = 1.0 - value / peak
            deepest = value
    mean = total / n if n else 0.0
    # Per-candle returns are small and centred near zero: the one-pass variance is exact enough.
    return n, mean, max(squares - total * mean, 0.0), down, max_dd, max_dd_value, longest


def equity_metrics(equity: np.ndarray, times: np.ndarray, step_seconds: int) -> dict[str, float | None]:
    """Return, CAGR, drawdown, Sharpe, Sortino and Calmar of one equity curve (see the module docstring)."""
    equity = np.ascontiguousarray(equity, dtype=np.float64)
    times = np.ascontiguousarray(times, dtype=np.int64)
    initial, final = float(equity[0]), float(equity[-1])
    n, mean, m2, down, max_dd, max_dd_value, longest = _curve(equity, times)
    years = (int(times[-1]) - int(times[0])) / YEAR_SECONDS
    cagr = _cagr(initial, final, years)
    per_year = math.sqrt(YEAR_SECONDS / step_seconds)
    std = math.sqrt(m2 / (n - 1)) if n > 1 else 0.0
    downside = math.sqrt(down / n) if n else 0.0
    return {
        "total_return": final / initial - 1 if initial > 0 else None,
        "cagr": cagr,
        "max_drawdown": max_dd,
        "max_drawdown_value": max_dd_value,
        "max_drawdown_duration_seconds": int(longest),
        "sharpe": mean / std * per_year if std > 0 else None,
        "sortino": mean / downside * per_year if downside > 0 else None,
        "calmar": cagr / max_dd if cagr is not None and max_dd > 0 else None,
    }


def _cagr(initial: float, final: float, years: float) -> float | None:
    if years <= 0 or final <= 0 or initial <= 0:
        return None
    try:
        return math.exp(math.log(final / initial) / years) - 1
    except OverflowError:  # a gain compounded over a span of minutes: no meaningful annual rate
        return None


def trade_metrics(pnl: np.ndarray, cost: np.ndarray) -> dict[str, float | int | None]:
    """Win rate, profit factor and average/best/worst of closed round trips (P&L and cost in quote)."""
    pnl = np.asarray(pnl, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    count = len(pnl)
    if count == 0:
        return {
            "trades": 0,
            "win_rate": None,
            "profit_factor": None,
            "average_trade": None,
            "average_trade_pct": None,
            "best_trade": None,
            "best_trade_pct": None,
            "worst_trade": None,
            "worst_trade_pct": None,
        }
    gains, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    pct = np.divide(pnl, cost, out=np.zeros(count), where=cost > 0)
    return {
        "trades": count,
        "win_rate": float(np.count_nonzero(pnl > 0) / count),
        "profit_factor": float(gains / losses) if losses > 0 else None,
        "average_trade": float(pnl.mean()),
        "average_trade_pct": float(pct.mean()),
        "best_trade": float(pnl.max()),
        "best_trade_pct": float(pct.max()),
        "worst_trade": float(pnl.min()),
        "worst_trade_pct": float(pct.min()),
    }
