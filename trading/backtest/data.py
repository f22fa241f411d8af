"""Candles for a backtest, and the prices its orders fill at.

A decision on candle ``i``'s close is made at ``time[i] + granularity``. At
that moment the replay market (``market.replay.ReplayMarket``, which the live
runner uses in a replay) quotes the open of the candle starting then, or, in
a gap in the data, the last close; rounded half-even to the product's price
increment. ``quote_units`` computes exactly those quotes, as fixed-point
integers, for the whole series in one pass; ``bid_ask`` applies a spread the
way the replay market does.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
from numba import njit

from market.replay import load_csv
from market.types import Candles, Granularity, Product
from trading.backtest.units import LIMIT, Units, UnitsError, fraction


class DataError(ValueError):
    """Candles a backtest cannot run on; the message says why."""


def check_candles(candles: Candles, granularity: Granularity) -> None:
    """The series the replay market accepts: ascending, on the granularity's boundaries, positive prices."""
    if len(candles) < 2:
        raise DataError(f"a backtest needs at least 2 candles, got {len(candles)}")
    problem = _first_problem(
        np.ascontiguousarray(candles.time, dtype=np.int64),
        np.ascontiguousarray(candles.open, dtype=np.float64),
        np.ascontiguousarray(candles.close, dtype=np.float64),
        granularity.seconds,
    )
    if problem:
        raise DataError(PROBLEMS[problem].format(g=granularity.short))


PROBLEMS = {
    1: "candle times must be strictly increasing, without duplicates",
    2: "candle times must fall on {g} boundaries in UNIX time",
    3: "candle open and close prices must be positive numbers",
}


@njit(cache=True)
def _first_problem(times: np.ndarray, opens: np.ndarray, closes: np.ndarray, g: int) -> int:
    # One pass, no temporaries: these run over every candle of every backtest.
    for i in range(len(times)):
        if i and times[i] <= times[i - 1]:
            return 1
        if times[i] % g:
            return 2
        if not (opens[i] > 0 and closes[i] > 0 and math.isfinite(opens[i]) and math.isfinite(closes[i])):
            return 3
    return 0


def quote_units(candles: Candles, granularity: Granularity, product: Product, units: Units) -> np.ndarray:
    """The replay market's quote at each candle's close, in price units.

    That quote is the next candle's open (in a gap, and after the last
    candle, the close) as ``Decimal(float(v)).quantize(price_increment,
    ROUND_HALF_EVEN)``. Vectorised: ``v * 10**k`` in floats is within half an
    ulp of the exact product, so rounding it agrees with exact rounding except
    near a tie; those few values are rounded exactly with Decimal.
    """
    exponent = int(product.price_increment.as_tuple().exponent)
    digits = max(-exponent, 0)
    out = np.empty(len(candles), dtype=np.int64)
    ties = _quotes(
        np.ascontiguousarray(candles.time, dtype=np.int64),
        np.ascontiguousarray(candles.open, dtype=np.float64),
        np.ascontiguousarray(candles.close, dtype=np.float64),
        granularity.seconds,
        10.0**digits,
        out,
    )
    if ties is None:
        raise UnitsError("prices are too large to convert exactly")
    step = Decimal(1).scaleb(exponent)
    for i in ties:
        value = _quoted(candles, granularity, int(i))
        out[i] = int(Decimal(value).quantize(step, rounding=ROUND_HALF_EVEN).scaleb(digits))
    if np.any(out <= 0):
        raise DataError(f"a price rounds to zero at {product.product_id}'s price increment {product.price_increment}")
    if units.price_places > digits:
        out *= 10 ** (units.price_places - digits)
    return out


def _quoted(candles: Candles, granularity: Granularity, i: int) -> float:
    follows = i + 1 < len(candles) and candles.time[i + 1] == candles.time[i] + granularity.seconds
    return float(candles.open[i + 1] if follows else candles.close[i])


@njit(cache=True)
def _quotes(times, opens, closes, g, scale, out):
    # Returns the indices whose rounding is too close to call in floats (None: a price too large).
    ties = []
    n = len(times)
    for i in range(n):
        value = opens[i + 1] if i + 1 < n and times[i + 1] == times[i] + g else closes[i]
        scaled = value * scale
        if scaled >= 2.0**52:
            return None
        rounded = np.rint(scaled)
        if abs(scaled - np.floor(scaled) - 0.5) <= 1e-15 * scaled:  # a few ulps
            ties.append(i)
        out[i] = np.int64(rounded)
    return np.array(ties, dtype=np.int64)


def bid_ask(price: np.ndarray, spread_rate: Decimal, product: Product, units: Units) -> tuple[np.ndarray, np.ndarray]:
    """Bid and ask around each quote, half the spread each side, rounded outwards to the increment."""
    if not spread_rate:
        return price, price
    num, den = fraction(spread_rate)
    inc = units.price(product.price_increment)
    if int(price.max()) * 2 * den >= LIMIT:
        raise UnitsError("prices are too large for the spread arithmetic")
    # price - price * s / 2 rounded down, price + price * s / 2 rounded up (ReplayMarket.ticker).
    bid = (price * (2 * den - num)) // (2 * den * inc) * inc
    ask = -((-price * (2 * den + num)) // (2 * den * inc)) * inc
    return bid, ask


# --- loading -------------------------------------------------------------------
def candles_from_csv(path: str | Path) -> Candles:
    try:
        return load_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(str(exc)) from None


def candles_from_database(
    product_id: str, granularity: Granularity, start: datetime | None, end: datetime | None
) -> Candles:
    """Candles stored by ``manage.py fetch_candles``."""
    from market.selectors import candles_stored

    return candles_stored(product_id, granularity.short, start, end)


def candles_from_simulation(product_id: str, granularity: Granularity, start: datetime, end: datetime) -> Candles:
    """The built-in simulated market's candles (seeded by SIM_SEED), for a try-out without stored history."""
    from django.conf import settings

    from market.clock import ManualClock
    from market.simulated import SimulatedMarket

    market = SimulatedMarket(seed=settings.SIM_SEED, epoch=start, clock=ManualClock(end))
    return market.candles(product_id, granularity, start, end)
