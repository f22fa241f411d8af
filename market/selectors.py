"""Reads of market rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.cache import cache

from market.models import Product

if TYPE_CHECKING:
    from market.cache import CachedMarketData
    from market.types import Candles, Granularity


def product_exists(product_id: str) -> bool:
    """True when the stored product list has the pair: a database read, never a call to the market.

    The list is synced by ``runbots`` at start-up and by ``seed_demo``, so that
    validating a form or an API request never waits on the network.
    """
    return Product.objects.filter(product_id=product_id).exists()


def products_known() -> bool:
    return Product.objects.exists()


RATE_SAMPLE_KEY = "dashboard:market-data-samples"
RATE_WINDOW_SECONDS = 300.0
RATE_SAMPLE_EVERY_SECONDS = 10.0
RATE_MIN_SPAN_SECONDS = 20.0


@dataclass(frozen=True)
class MarketDataHealth:
    """The market-data cache's shared counters and the upstream call rate."""

    source: str
    stats: dict[str, float]
    upstream_per_minute: float | None
    rate_limited_per_minute: float | None


def market_data_health(*, market: CachedMarketData, wall: float | None = None) -> MarketDataHealth:
    """Counters of every process's cache, and upstream calls per minute over the last few minutes.

    The counters are running totals, so the rate comes from samples kept in
    the shared cache: whoever looks adds a sample (at most one per
    RATE_SAMPLE_EVERY_SECONDS), and the rate spans the oldest one still in the
    window. It is unknown (None) until two samples are far enough apart.
    """
    stats = market.stats()
    now = time.time() if wall is None else wall
    samples = [s for s in cache.get(RATE_SAMPLE_KEY, []) if now - s[0] <= RATE_WINDOW_SECONDS]
    if not samples or now - samples[-1][0] >= RATE_SAMPLE_EVERY_SECONDS:
        samples.append((now, stats["upstream_calls"], stats["rate_limited"]))
        cache.set(RATE_SAMPLE_KEY, samples, int(RATE_WINDOW_SECONDS))
    first_at, first_calls, first_limited = samples[0]
    span = now - first_at
    upstream = limited = None
    # A reset of the counters (stats_reset) shows as a fall: no rate until the window refills.
    if span >= RATE_MIN_SPAN_SECONDS and stats["upstream_calls"] >= first_calls:
        upstream = (stats["upstream_calls"] - first_calls) / span * 60
        limited = max(0, stats["rate_limited"] - first_limited) / span * 60
    return MarketDataHealth(market.name, stats, upstream, limited)


def candles_stored(product_id: str, granularity: str, start: datetime | None = None, end: datetime | None = None):
    """Stored candles (``fetch_candles``) as a Candles series, ascending; [start, end)."""
    import numpy as np

    from market.models import Candle
    from market.types import Candles

    qs = Candle.objects.filter(product_id=product_id, granularity=granularity)
    if start is not None:
        qs = qs.filter(time__gte=start)
    if end is not None:
        qs = qs.filter(time__lt=end)
    rows = list(qs.order_by("time").values_list("time", "open", "high", "low", "close", "volume"))
    if not rows:
        return Candles.empty()
    t = np.array([int(r[0].timestamp()) for r in rows], dtype=np.int64)
    cols = np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)
    return Candles(t, cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], cols[:, 4])


MAX_CANDLES = 1000


def market_candles(
    *,
    market: CachedMarketData,
    product_id: str,
    granularity: Granularity,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 300,
) -> Candles:
    """The newest ``limit`` closed candles in [start, end), read through the market-data cache.

    Only the span the answer needs is asked of the market, whatever ``start``
    says, so a request for ten years costs what a request for ``limit`` does.
    Raises UnknownProduct for a pair the market does not list.
    """
    from market.types import Candles

    market.product(product_id)
    now = market.now()
    end = min(end, now) if end is not None else now
    try:
        earliest = end - granularity.delta * limit
    except OverflowError:  # before year 1: nothing to read there anyway
        earliest = datetime.min.replace(tzinfo=end.tzinfo)
    start = max(start, earliest) if start is not None else earliest
    if start >= end:
        return Candles.empty()
    return market.candles(product_id, granularity, start, end).tail(limit)
