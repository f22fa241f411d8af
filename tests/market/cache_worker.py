"""A separate process reading market data through the shared cache (used by test_cache_redis).

Usage: python -m tests.market.cache_worker NAME BOTS STEPS
Steps advance a manual market clock by 5 s; the processes meet at a barrier
in the cache before every step, so both read at the same market time.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta

import django


def main(name: str, bots: int, steps: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autotrader.settings_test")
    django.setup()
    from django.core.cache import cache

    from market.cache import CachedMarketData
    from market.clock import ManualClock
    from market.simulated import SimulatedMarket
    from market.types import Granularity

    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(epoch + timedelta(days=10))
    market = CachedMarketData(SimulatedMarket(seed=7, epoch=epoch, clock=clock), ttl=30)
    pairs = ["BTC-USD", "ETH-USD", "SOL-USD"]
    gran = Granularity.FIVE_MINUTE
    for step in range(steps):
        arrived = cache.incr(f"barrier:{step}") if cache.add(f"barrier:{step}", 1, 600) is False else 1
        deadline = time.monotonic() + 30
        while arrived < 2 and int(cache.get(f"barrier:{step}", 0)) < 2:
            if time.monotonic() > deadline:
                sys.exit(f"{name}: the other process never arrived at step {step}")
            time.sleep(0.005)
        now = clock.now()
        for i in range(bots):
            market.candles(pairs[i % 3], gran, now - gran.delta * 100, now)
        clock.advance(timedelta(seconds=5))
    market.stats()  # flush this process's counters into the shared cache
    print(f"{name} done")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
