"""Benchmark the decision path.

1. Evaluating one bot with all three signals on 300 candles (target: median under 2 ms).
2. One tick of 100 running bots on 9 pairs through the real runner: database,
   cache, simulated market and paper exchange (target: under 1 s).

Run: .venv/bin/python bench/evaluate.py
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _setup import django_setup, report


def bench_single() -> float:
    import numpy as np

    from bots.config import DEFAULT_SIGNAL_CONFIG, BotConfig, parse_signal_config
    from bots.evaluator import ConfirmationState, evaluate
    from market.types import Candles

    rng = np.random.default_rng(1)
    close = 50_000 * np.exp(np.cumsum(rng.normal(0, 0.002, 300)))
    t = 1_700_000_000 + 300 * np.arange(300, dtype=np.int64)
    candles = Candles(t, close, close * 1.001, close * 0.999, close, np.ones(300))
    config = BotConfig(signals=parse_signal_config(DEFAULT_SIGNAL_CONFIG))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(50):
        evaluate(config, candles, ConfirmationState(), now)
    samples = []
    for _ in range(2000):
        started = time.perf_counter()
        evaluate(config, candles, ConfirmationState(), now)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_tick() -> tuple[float, float]:
    from bots.models import Bot
    from bots.services import bot_create, bot_start
    from market.cache import CachedMarketData
    from market.clock import ManualClock
    from market.paper import PaperExchange, paper_deposit
    from market.services import market_use, products_sync
    from market.simulated import SimulatedMarket
    from trading.runner import Runner

    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(epoch + timedelta(days=10))
    market = CachedMarketData(SimulatedMarket(seed=7, epoch=epoch, clock=clock))
    market_use(market)
    products_sync()
    pairs = [p.product_id for p in market.products()][:9]
    for i in range(100):
        bot = bot_create(name=f"bench-{i}", product_id=pairs[i % len(pairs)], granularity=["1m", "5m", "15m"][i % 3])
        bot_start(bot=bot, at=clock.now())
    paper_deposit("USD", Decimal("10000000"))
    exchange = PaperExchange(market, fee_rate=Decimal("0.006"), slippage_rate=Decimal("0.0005"))
    runner = Runner(market=market, exchange_for=lambda bot: exchange, owner="bench")
    runner.tick()  # warm-up: JIT, price history, cache fill
    durations = []
    for _ in range(10):
        clock.advance(timedelta(seconds=10))
        report_ = runner.tick()
        assert len(report_.results) == Bot.objects.count() == 100
        assert report_.count("error") == 0
        durations.append(report_.duration_ms / 1000)
    return statistics.median(durations), max(durations)


def main() -> int:
    django_setup()
    ok = report("evaluate one bot, 3 signals, 300 candles (median)", bench_single(), 2.0, "ms")
    median, worst = bench_tick()
    ok &= report("tick of 100 bots on 9 pairs (median of 10)", median, 1.0, "s")
    ok &= report("tick of 100 bots on 9 pairs (worst of 10)", worst, 1.0, "s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
