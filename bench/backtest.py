"""Benchmark the backtester on 500,000 five-minute candles.

1. One bot with all three signals, end to end: indicators, scores, confirmation,
   risk rules, fills and metrics, data already in memory (target: at least
   5,000,000 candles per second).
2. A bare numpy reference of the same rule run beside it: the same indicators
   (the project's kernels; numpy has no recursive filter) and score formulas,
   thresholds, a one-candle confirmation, long or flat, next-open fills with
   fee and slippage, equity, return, drawdown and Sharpe; no risk rules, no
   exact money (target: the backtester within 1.5 times its time).
3. A 27-combination sweep over the same candles on 2 cores (target: under 10 s).

The candles are the 5-minute files of ../shared/data tiled end to end (each
copy continuing from the previous close, times shifted), or a generated
series when that folder is absent. Timings are the best of several
interleaved runs after a warm-up (the figure least disturbed by other work on
the machine); medians are printed beside them, and so is the CPU time of this
process, which other work on a shared machine does not inflate.

Run: .venv/bin/python bench/backtest.py
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
from _setup import ROOT, django_setup, report

CANDLES = 500_000
REPEATS = 15
SHARED = ROOT.parent / "shared" / "data"
T0 = 1_600_000_200 - 1_600_000_200 % 300


def candles_for_bench(n: int):
    """Real 5-minute returns tiled to ``n`` candles, or a seeded random walk without the shared data."""
    from market.replay import load_csv
    from market.types import Candles

    files = sorted(SHARED.glob("*_5m.csv.gz")) if SHARED.is_dir() else []
    if not files:
        print(f"{SHARED} not found: using a generated random walk")
        rng = np.random.default_rng(1)
        close = 20_000 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
        opens = np.concatenate([[close[0]], close[:-1]])
        return Candles(T0 + 300 * np.arange(n), opens, np.maximum(opens, close) * 1.001,
                       np.minimum(opens, close) * 0.999, close, np.ones(n)), "generated"  # fmt: skip
    parts, level, total = [], 20_000.0, 0
    sources = [load_csv(f) for f in files]
    while total < n:
        for c in sources:
            scale = level / c.open[0]
            parts.append([c.open * scale, c.high * scale, c.low * scale, c.close * scale, c.volume])
            level, total = c.close[-1] * scale, total + len(c)
    cols = [np.concatenate([p[k] for p in parts])[:n] for k in range(5)]
    return Candles(T0 + 300 * np.arange(n, dtype=np.int64), *cols), f"{len(files)} files of {SHARED} tiled"


def reference(candles, fee: float, slippage: float) -> dict[str, float]:
    """The same RSI + SMA + MACD rule in bare numpy."""
    from bots.signals.indicators import macd, recent_zero_crosses, sma, wilder_rsi

    close, opens = candles.close, candles.open
    rsi = wilder_rsi(close, 14)
    with np.errstate(invalid="ignore", divide="ignore"):
        buying = np.where(rsi <= 30, 1.0, np.clip((45 - rsi) / 15, 0.0, 1.0))
        selling = np.where(rsi >= 70, 1.0, np.clip((rsi - 55) / 15, 0.0, 1.0))
        fast, slow = sma(close, 10), sma(close, 20)
        gap = fast - slow
        up, down = recent_zero_crosses(gap, 3)
        ma = np.sign(gap) * np.minimum(np.abs(gap) / slow * 100 + 0.25 * np.where(gap > 0, up, down), 1.0)
        line, _, hist = macd(close, 12, 26, 9)
        up, down = recent_zero_crosses(line, 3)
        md = np.sign(hist) * np.minimum(np.abs(hist) / close * 1000 + 0.25 * np.where(hist > 0, up, down), 1.0)
        score = 0.4 * (buying - selling) + 0.3 * ma + 0.3 * md
    action = np.where(score >= 0.3, 1, np.where(score <= -0.3, -1, 0))
    confirmed = np.where(action[1:] == action[:-1], action[1:], 0)  # held at two closes: 5 minutes
    n = len(confirmed)
    last = np.maximum.accumulate(np.where(confirmed != 0, np.arange(n), 0))
    long = (confirmed[last] == 1).astype(np.float64)  # after the decision at close i + 1
    held = np.zeros(len(close))
    held[2:] = long[:-1]  # filled at the next open
    moves = opens[1:] / opens[:-1] - 1
    cost = np.abs(np.diff(held, prepend=0.0))[:-1] * (fee + slippage)
    equity = 1000 * np.cumprod(1 + held[:-1] * moves - cost)
    returns = np.diff(equity) / equity[:-1]
    return {
        "total_return": equity[-1] / 1000 - 1,
        "max_drawdown": float(np.max(1 - equity / np.maximum.accumulate(equity))),
        "sharpe": float(returns.mean() / returns.std() * np.sqrt(365.25 * 288)),
        "trades": int(np.count_nonzero(np.diff(held) > 0)),
    }


def main() -> int:
    django_setup()
    from bots.config import DEFAULT_SIGNAL_CONFIG, bot_config_from_values
    from market.clock import ManualClock
    from market.simulated import SimulatedMarket
    from market.types import Granularity
    from trading.backtest import BacktestData, BacktestSettings, run
    from trading.backtest.sweep import parse_grid, sweep

    candles, source = candles_for_bench(CANDLES)
    print(f"{len(candles):,} five-minute candles: {source}")
    clock = ManualClock(datetime.fromtimestamp(T0, UTC))
    product = SimulatedMarket(seed=7, epoch=clock.now(), clock=clock).product("BTC-USD")
    # Long or flat, as the reference: one tranche (the step can never be met), no daily limits.
    values = {
        "signal_config": DEFAULT_SIGNAL_CONFIG,
        "confirmation_minutes": 5,
        "position_size_usd": "100",
        "max_position_usd": "100",
        "trade_step_pct": "100",
        "max_trades_per_day": 0,
        "daily_loss_limit_usd": "0",
    }
    config = bot_config_from_values(values)
    settings = BacktestSettings(starting_balance=Decimal("100000"))

    def ours():
        result = run(config, BacktestData(candles, product, Granularity.FIVE_MINUTE, settings))
        return result, result.metrics

    def bare():
        return reference(candles, 0.006, 0.0005)

    started = time.perf_counter()
    _, metrics = ours()  # warm-up: loads the compiled code
    print(f"first run (loading the compiled loop from numba's cache): {time.perf_counter() - started:.2f} s")
    bare()
    ours_t, bare_t, ours_cpu, bare_cpu = [], [], [], []
    for _ in range(REPEATS):
        for fn, times, cpu in ((ours, ours_t, ours_cpu), (bare, bare_t, bare_cpu)):
            started, started_cpu = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    print(
        f"backtester: {metrics['fills']:,} fills, {metrics['trades']:,} round trips, return "
        f"{metrics['total_return']:+.2%}; reference: {bare()['trades']:,} entries"
    )
    for label, times, cpu in (("backtester", ours_t, ours_cpu), ("reference", bare_t, bare_cpu)):
        print(
            f"{label}: wall best {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms; "
            f"CPU best {min(cpu) * 1000:.1f} ms"
        )
    best, best_bare = min(ours_t), min(bare_t)
    ok = report(f"backtest end to end, wall (candles/s, best of {REPEATS})", len(candles) / best, 5_000_000,
                "candles/s", lower_is_better=False)  # fmt: skip
    report(f"backtest end to end, CPU time (candles/s, best of {REPEATS})", len(candles) / min(ours_cpu), 5_000_000,
           "candles/s", lower_is_better=False)  # fmt: skip
    ok &= report("backtester time / bare numpy reference (wall, best)", best / best_bare, 1.5, "x")

    axes = parse_grid(["rsi.period=7,14,21", "moving_average.fast_period=5,10,15", "macd.signal_period=5,9,13"])
    data = BacktestData(candles, product, Granularity.FIVE_MINUTE, settings)
    started = time.perf_counter()
    rows = sweep(values, data, axes, rank_by="sharpe", workers=2)
    elapsed = time.perf_counter() - started
    assert len(rows) == 27 and not any(r.error for r in rows)
    ok &= report("27-combination sweep on 2 cores", elapsed, 10.0, "s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
