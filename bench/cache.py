"""Benchmark the market-data cache: bot count must not cost upstream calls.

100 bots on 9 pairs read candles, the ticker and the product every 10 s of
market time for 10 simulated minutes, through the real cache (the embedded
default: Django's database cache) in front of the simulated market. The same
run with 10 bots must make the same number of upstream calls.
Targets: hit rate >= 97 %; upstream calls per minute independent of bots.

Run: .venv/bin/python bench/cache.py
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from _setup import django_setup, report

GRANULARITIES = ("1m", "5m", "15m")


class Counting:
    """The real simulated market, counting calls per method."""

    def __init__(self, source):
        self.source = source
        self.name = source.name
        self.calls: Counter[str] = Counter()

    def now(self):
        return self.source.now()

    def products(self):
        self.calls["products"] += 1
        return self.source.products()

    def ticker(self, product_id):
        self.calls["ticker"] += 1
        return self.source.ticker(product_id)

    def candles(self, *args):
        self.calls["candles"] += 1
        return self.source.candles(*args)


def run(n_bots: int) -> tuple[float, float, Counter]:
    from django.core.cache import cache

    from market.cache import CachedMarketData
    from market.clock import ManualClock
    from market.simulated import SimulatedMarket
    from market.types import Granularity

    cache.clear()
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(epoch + timedelta(days=10))
    source = Counting(SimulatedMarket(seed=7, epoch=epoch, clock=clock))
    market = CachedMarketData(source)
    pairs = [p.product_id for p in source.source.products()][:9]
    bots = [(pairs[i % 9], Granularity.parse(GRANULARITIES[i % 3])) for i in range(n_bots)]
    minutes = 10
    warmup_calls = None
    for step in range(minutes * 6 + 1):
        now = clock.now()
        for product_id, gran in bots:
            market.product(product_id)
            market.ticker(product_id)
            market.candles(product_id, gran, now - gran.delta * 100, now)
        if step == 0:
            warmup_calls = sum(source.calls.values())
            market.stats_reset()
        clock.advance(timedelta(seconds=10))
    stats = market.stats()
    per_minute = (sum(source.calls.values()) - warmup_calls) / minutes
    return stats["hit_rate"], per_minute, source.calls


def main() -> int:
    django_setup()
    hit_rate, per_minute, calls = run(100)
    _, per_minute_10, _ = run(10)
    print(f"100 bots on 9 pairs, 10 simulated minutes: upstream calls {dict(calls)}")
    ok = report("hit rate, 100 bots", hit_rate * 100, 97.0, "%", lower_is_better=False)
    print(f"upstream calls per minute: {per_minute:.1f} with 100 bots, {per_minute_10:.1f} with 10 bots")
    ok &= report("upstream calls per minute, 100 bots vs 10 bots", per_minute / per_minute_10, 1.0, "x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
