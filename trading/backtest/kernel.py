"""The per-candle loop, compiled: the live runner's tick, once per candle.

Each step is what ``trading.engine`` does on a tick just after candle ``i``
closes (market time ``time[i] + granularity``): the pre-check, the score of
the signals on the closed candles, the confirmation, the risk gate and sizing
(all ``trading.rules``, the functions the live path calls), then the order
filled by the fill model (``trading.backtest.fills``) at the price quoted at
that moment, the next candle's open. The shell around it: trades per day and
realised P&L per UTC market day, the cooldown's last trade, pausing for the
rest of the day at the daily loss limit (resuming with a fresh confirmation,
as ``trading.tasks.daily_reset`` does) and for good after ``max_failures``
rejected orders in a row (``trading.services.order_reject``).

Money is fixed-point int64 (``trading.backtest.units``); a sell always exits
the whole position, so the position is its size and cost, and realised P&L is
proceeds less cost, as ``trading.accounting`` books it.

numba caches this loop's machine code, with the rules and fills compiled
into it, keyed on this file only; the closure over ``SOURCES_STAMP`` (a hash
of those modules' sources) makes an edit to them recompile it too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numba import njit

from trading import rules
from trading.backtest import fills, units
from trading.backtest.units import LIMIT

# Counters beyond the risk gate's codes: candles spent paused, candles closed holding a position.
PAUSED = rules.N_CODES
EXPOSED = rules.N_CODES + 1
N_COUNTS = rules.N_CODES + 2
MAX_SIGNALS = 8  # score arrays come as a fixed-size tuple: one compiled loop for any number of signals

# Columns of the order table.
STEP, SIDE, OUTCOME, PRICE, BASE, FEE, TOTAL, REALISED, REQUESTED = range(9)
N_COLUMNS = 9

# How a run ended: every candle done, or stopped because an amount outgrew int64 (never silently wrong).
COMPLETE, OVERFLOW, PARTIAL_SELL = 0, 1, 2

MICROS = 1_000_000
DAY = 86_400


class RuleParams(NamedTuple):
    """The bot's settings in the loop's units (times in microseconds, money fixed-point)."""

    granularity: int  # seconds
    buy_threshold: float
    sell_threshold: float
    window: int
    stale_after: int
    cooldown: int
    max_trades: int
    max_failures: int
    orders_allowed: bool
    loss_limit: int
    position_size: int
    max_position: int
    step_pct: int
    hundred: int
    starting_cash: int
    max_price: int  # the highest price in the data, to keep size * price inside int64


def _sources_stamp() -> int:
    digest = hashlib.sha256()
    for module in (rules, fills, units):
        digest.update(Path(module.__file__).read_bytes())
    return int(digest.hexdigest()[:15], 16)


SOURCES_STAMP = _sources_stamp()  # close over it in any cached numba function that calls trading.rules


def _compile(stamp: int):
    @njit(cache=True, nogil=True)
    def run(times, scores, weights, price, bid, ask, close, first, last, p, f, base_scale, cash_scale, out):
        equity, orders, order_scores, counts = out
        if stamp < 0:  # never: keeps the stamp in the compiled function's cache key
            return 0, OVERFLOW
        s0, s1, s2, s3, s4, s5, s6, s7 = scores  # unpacked once: indexing a tuple per candle is a jump table
        k = len(weights)
        per_cash, per_base = 1.0 / cash_scale, 1.0 / base_scale
        exposed = 0
        cash, base, cost = p.starting_cash, 0, 0
        has_last_buy, last_buy = False, 0
        held_action, since, seen_at = rules.HOLD, rules.NO_TIME, rules.NO_TIME
        day, trades_today, realised_today = -1, 0, 0
        has_last_trade, last_trade = False, 0
        failures, paused_day, halted = 0, -1, False
        n = 0
        base_cap = LIMIT // max(p.max_price, 1)
        for i in range(first, last):
            equity[i] = cash * per_cash + base * per_base * close[i]
            exposed += base > 0
            now_s = times[i] + p.granularity
            now = now_s * MICROS
            today = now_s // DAY
            if today != day:
                day, trades_today, realised_today = today, 0, 0
                if paused_day >= 0 and today > paused_day:
                    paused_day, failures = -1, 0
                    held_action, since, seen_at = rules.HOLD, rules.NO_TIME, rules.NO_TIME
            if halted or paused_day >= 0:
                counts[PAUSED] += 1
                continue
            code = rules.precheck_code(False, cash, f.quote_min, base, base, f.base_min)
            if code != rules.ORDER:
                counts[code] += 1
                continue
            weighted, total = rules.weigh(0.0, 0.0, weights[0], s0[i]) if k > 0 else (0.0, 0.0)
            if k > 1:
                weighted, total = rules.weigh(weighted, total, weights[1], s1[i])
            if k > 2:
                weighted, total = rules.weigh(weighted, total, weights[2], s2[i])
            if k > 3:
                weighted, total = rules.weigh(weighted, total, weights[3], s3[i])
            if k > 4:
                weighted, total = rules.weigh(weighted, total, weights[4], s4[i])
            if k > 5:
                weighted, total = rules.weigh(weighted, total, weights[5], s5[i])
            if k > 6:
                weighted, total = rules.weigh(weighted, total, weights[6], s6[i])
            if k > 7:
                weighted, total = rules.weigh(weighted, total, weights[7], s7[i])
            score = rules.combined_score(weighted, total)
            action = rules.action_code(score, p.buy_threshold, p.sell_threshold) if total > 0 else rules.HOLD
            since, _, confirmed, _ = rules.confirm_step(
                action, held_action, since, seen_at, now, p.window, p.stale_after
            )
            held_action, seen_at = action, now if action != rules.HOLD else rules.NO_TIME
            code, quote_size, base_size = rules.decide_order(
                action,
                confirmed,
                False,
                p.orders_allowed,
                p.loss_limit,
                realised_today,
                p.max_trades,
                trades_today,
                has_last_trade,
                now - last_trade,
                p.cooldown,
                rules.buy_fraction_nano(score, p.buy_threshold) if action == rules.BUY else 0,
                p.position_size,
                p.max_position,
                cash,
                base,
                base,
                price[i],
                has_last_buy,
                last_buy,
                p.step_pct,
                p.hundred,
                f.quote_increment,
                f.quote_min,
                f.base_increment,
                f.base_min,
            )
            if code != rules.ORDER:
                counts[code] += 1
                if code == rules.DAILY_LOSS:
                    paused_day = today
                continue
            counts[rules.ORDER] += 1
            if action == rules.BUY:
                outcome, fill_price, size, fee, paid = fills.buy_for_quote(quote_size, bid[i], ask[i], f)
                if outcome == fills.FILLED and paid > cash:
                    outcome = fills.INSUFFICIENT_FUND
                requested = quote_size
            else:
                outcome, fill_price, size, fee, paid = fills.sell_base(base_size, bid[i], ask[i], f)
                if outcome == fills.FILLED and size > base:
                    outcome = fills.INSUFFICIENT_FUND
                requested = base_size
            row = orders[n]
            row[STEP], row[SIDE], row[OUTCOME], row[REQUESTED] = i, action, outcome, requested
            order_scores[n] = score
            n += 1
            if outcome != fills.FILLED:
                row[PRICE], row[BASE], row[FEE], row[TOTAL], row[REALISED] = 0, 0, 0, 0, 0
                failures += 1
                halted = failures >= p.max_failures
                continue
            failures = 0
            realised = 0
            if action == rules.BUY:
                cash, base, cost = cash - paid, base + size, cost + paid
                has_last_buy, last_buy = True, fill_price
                if base >= base_cap:
                    return n, OVERFLOW
            else:
                if size != base:  # a sell exits the whole position; anything else is a bug here
                    return n, PARTIAL_SELL
                realised = paid - cost
                cash, base, cost = cash + paid, 0, 0
                has_last_buy = False
                if cash >= LIMIT:
                    return n, OVERFLOW
            row[PRICE], row[BASE], row[FEE], row[TOTAL], row[REALISED] = fill_price, size, fee, paid, realised
            realised_today += realised
            trades_today += 1
            has_last_trade, last_trade = True, now
        equity[last] = cash * per_cash + base * per_base * close[last]
        counts[EXPOSED] = exposed + (base > 0)
        return n, COMPLETE

    return run


run = _compile(SOURCES_STAMP)


def outputs(n: int) -> tuple[np.ndarray, ...]:
    """The arrays one run writes into: equity, orders, order scores, counts.

    Cash and position per candle are not stored: they change only at fills,
    so ``BacktestResult`` rebuilds them exactly from the orders when asked.
    """
    return (
        np.zeros(n, dtype=np.float64),
        np.zeros((n, N_COLUMNS), dtype=np.int64),
        np.zeros(n, dtype=np.float64),
        np.zeros(N_COUNTS, dtype=np.int64),
    )
