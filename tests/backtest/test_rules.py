"""One implementation, two number types: trading.rules on Decimal (live) and on fixed-point ints (backtest).

The live path runs the rules as Python on Decimal; the backtester's loop runs
the same functions compiled, on int64 amounts. These tests run both on the
same random inputs and require the same decisions and the same sizes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from bots.evaluator import Action, ConfirmationState, confirm
from trading import rules
from trading.backtest.kernel import SOURCES_STAMP

CENTS = st.integers(min_value=0, max_value=2_000_00)  # quote amounts in cents
SATS = st.integers(min_value=0, max_value=5_000_000)  # base amounts in 1e-8
PRICE = st.integers(min_value=1, max_value=10_000_000)  # prices in cents


def _compile(stamp: int):
    # The rules compiled into a numba function, as the backtest loop has them (recompiled when they change).
    @njit(cache=True)
    def decide(v):
        if stamp < 0:
            v = v[:0]
        return rules.decide_order(
            v[0], v[1] != 0, v[2] != 0, v[3] != 0, v[4], v[5], v[6], v[7], v[8] != 0, v[9], v[10], v[11], v[12],
            v[13], v[14], v[15], v[16], v[17], v[18] != 0, v[19], v[20], v[21], v[22], v[23], v[24], v[25],
        )  # fmt: skip

    return decide


_decide_compiled = _compile(SOURCES_STAMP)


@settings(max_examples=500, deadline=None)
@given(
    action=st.sampled_from([rules.HOLD, rules.BUY, rules.SELL]),
    confirmed=st.booleans(),
    loss=CENTS,
    realised=st.integers(-10_000, 10_000),
    trades=st.tuples(st.integers(0, 5), st.integers(0, 6)),
    cooldown=st.tuples(st.booleans(), st.integers(0, 3_600_000_000), st.integers(0, 3_600_000_000)),
    score=st.floats(-1, 1),
    sizes=st.tuples(CENTS, CENTS, CENTS),
    held=st.tuples(SATS, SATS),
    prices=st.tuples(PRICE, st.booleans(), PRICE),
    step=st.integers(0, 500),  # hundredths of a percent
)
def test_decide_order_agrees_on_decimal_and_on_fixed_point(
    action, confirmed, loss, realised, trades, cooldown, score, sizes, held, prices, step
):
    fraction = rules.buy_fraction_nano(score, 0.3)
    # Fixed point: cash in 1e-10 (= 1e-8 base x 1e-2 price), base in 1e-8, price in cents, step in 1e-2 %.
    c = 10**8
    ints = [
        action, confirmed, False, True, loss * c, realised * c, trades[1], trades[0], cooldown[0], cooldown[1],
        cooldown[2], fraction, sizes[0] * c, sizes[1] * c, sizes[2] * c, held[0], held[1], prices[0], prices[1],
        prices[2], step, 100 * 100, 1 * c, 100 * c, 1, 1,
    ]  # fmt: skip
    code, quote, base = _decide_compiled(np.array(ints, dtype=np.int64))

    cents, sats = Decimal("0.01"), Decimal("0.00000001")
    decimal = rules.decide_order(
        action, confirmed, False, True, loss * cents, realised * cents, trades[1], trades[0], cooldown[0],
        cooldown[1], cooldown[2], fraction, sizes[0] * cents, sizes[1] * cents, sizes[2] * cents,
        held[0] * sats, held[1] * sats, prices[0] * cents, prices[1], prices[2] * cents, step * cents,
        Decimal(100), cents, Decimal(1), sats, sats,
    )  # fmt: skip
    assert code == decimal[0]
    assert Decimal(int(quote)).scaleb(-10) == decimal[1]
    assert Decimal(int(base)).scaleb(-8) == decimal[2]


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from(list(Action)),
    held=st.sampled_from(list(Action)),
    since=st.integers(0, 3_600),
    seen=st.integers(0, 3_600),
    now=st.integers(0, 3_600),
    window=st.integers(0, 1_200),
)
def test_confirmation_in_microseconds_equals_the_datetime_confirmation(action, held, since, seen, now, window):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    at = [t0 + timedelta(seconds=s) for s in (since, seen, now)]
    state = ConfirmationState(held, at[0], at[1]) if held is not Action.HOLD else ConfirmationState()
    c, note = confirm(action, state, at[2], timedelta(seconds=window), timedelta(minutes=10))
    since_us, elapsed, confirmed, restarted = rules.confirm_step(
        {Action.HOLD: 0, Action.BUY: 1, Action.SELL: 2}[action],
        {Action.HOLD: 0, Action.BUY: 1, Action.SELL: 2}[state.action],
        rules.micros(state.since),
        rules.micros(state.seen_at),
        rules.micros(at[2]),
        window * 1_000_000,
        600 * 1_000_000,
    )
    assert (c.elapsed, c.confirmed, note is not None) == (timedelta(microseconds=elapsed), confirmed, restarted)
    assert c.since == (
        None if since_us == rules.NO_TIME else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=since_us)
    )


def test_the_budget_is_half_at_the_threshold_and_all_at_plus_one():
    assert rules.buy_fraction_nano(0.3, 0.3) == rules.NANO // 2
    assert rules.buy_fraction_nano(1.0, 0.3) == rules.NANO
    assert rules.buy_fraction_nano(0.65, 0.3) == 3 * rules.NANO // 4
    assert rules.buy_fraction_nano(0.1, 0.3) == rules.NANO // 2  # below the threshold: never less than half
