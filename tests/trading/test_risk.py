"""The risk gate: every rule, in order, with its reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bots.evaluator import Action, Confirmation, Evaluation, Temperature
from market.types import Product, Side
from trading.risk import Balances, Limits, OrderIntent, PositionView, Skip, SkipCode, decide, precheck

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BTC = Product(
    product_id="BTC-USD",
    base_currency="BTC",
    quote_currency="USD",
    base_increment=Decimal("0.00000001"),
    quote_increment=Decimal("0.01"),
    price_increment=Decimal("0.01"),
    base_min_size=Decimal("0.00000001"),
    base_max_size=Decimal("3400"),
    quote_min_size=Decimal("1"),
    quote_max_size=Decimal("150000000"),
)
LIMITS = Limits(
    product=BTC,
    position_size_usd=Decimal("100"),
    max_position_usd=Decimal("500"),
    trade_step_pct=Decimal("1"),
    cooldown=timedelta(minutes=15),
    max_trades_per_day=5,
    daily_loss_limit_usd=Decimal("50"),
    buy_threshold=0.3,
)
FLAT = PositionView(base_size=Decimal("0"), mark_price=Decimal("50000"))
RICH = Balances(quote_available=Decimal("1000"), base_available=Decimal("0"))


def ev(action: Action = Action.BUY, score: float = 0.65, confirmed: bool = True) -> Evaluation:
    c = Confirmation(action, NOW, timedelta(minutes=5), timedelta(minutes=5 if confirmed else 1), confirmed)
    return Evaluation(NOW, score, action, Temperature.HOT, (), c, ())


def test_confirmed_buy_becomes_an_intent():
    decision = decide(ev(score=0.65), FLAT, RICH, LIMITS, NOW)
    assert isinstance(decision, OrderIntent)
    assert decision.side is Side.BUY and decision.base_size is None
    assert decision.quote_size == Decimal("75.00")  # half at 0.3, all at 1.0: 0.5 + 0.5 * 0.5


@pytest.mark.parametrize(("score", "budget"), [(0.3, "50"), (1.0, "100"), (0.65, "75")])
def test_buy_budget_scales_with_strength(score, budget):
    decision = decide(ev(score=score), FLAT, RICH, LIMITS, NOW)
    assert isinstance(decision, OrderIntent) and decision.quote_size == Decimal(budget)


def test_unconfirmed_signal_waits():
    decision = decide(ev(confirmed=False), FLAT, RICH, LIMITS, NOW)
    assert decision.code is SkipCode.UNCONFIRMED
    assert "buy held 1m00s of 5m00s" in decision.reason


def test_hold_skips():
    assert decide(ev(Action.HOLD, 0.1), FLAT, RICH, LIMITS, NOW).code is SkipCode.HOLD


def test_kill_switch_wins_over_everything():
    decision = decide(ev(), FLAT, RICH, replace(LIMITS, kill_switch=True), NOW)
    assert decision == Skip(SkipCode.KILL_SWITCH, "kill switch is on: no new orders")


def test_daily_loss_limit_pauses():
    decision = decide(ev(), FLAT, RICH, replace(LIMITS, realised_pnl_today=Decimal("-50")), NOW)
    assert decision.code is SkipCode.DAILY_LOSS and decision.pause
    assert isinstance(decide(ev(), FLAT, RICH, replace(LIMITS, realised_pnl_today=Decimal("-49.99")), NOW), OrderIntent)


def test_max_trades_per_day():
    decision = decide(ev(), FLAT, RICH, replace(LIMITS, trades_today=5), NOW)
    assert decision.code is SkipCode.MAX_TRADES


def test_cooldown_after_a_trade():
    limits = replace(LIMITS, last_trade_at=NOW - timedelta(minutes=10))
    decision = decide(ev(), FLAT, RICH, limits, NOW)
    assert decision.code is SkipCode.COOLDOWN and "5m00s left" in decision.reason
    limits = replace(LIMITS, last_trade_at=NOW - timedelta(minutes=15))
    assert isinstance(decide(ev(), FLAT, RICH, limits, NOW), OrderIntent)


def test_next_tranche_needs_the_step():
    held = PositionView(Decimal("0.001"), Decimal("49600"), last_buy_price=Decimal("50000"))
    decision = decide(ev(), held, RICH, LIMITS, NOW)
    assert decision.code is SkipCode.TRANCHE_STEP and "49500.00" in decision.reason
    lower = replace(held, mark_price=Decimal("49500"))
    assert isinstance(decide(ev(), lower, RICH, LIMITS, NOW), OrderIntent)


def test_buy_capped_by_max_position_and_balance():
    held = PositionView(Decimal("0.009"), Decimal("49000"), last_buy_price=Decimal("50000"))  # worth 441
    decision = decide(ev(score=1.0), held, RICH, LIMITS, NOW)
    assert decision.quote_size == Decimal("59.00")
    poor = Balances(Decimal("20.555"), Decimal("0"))
    assert decide(ev(score=1.0), FLAT, poor, LIMITS, NOW).quote_size == Decimal("20.55")


def test_position_at_maximum_skips():
    full = PositionView(Decimal("0.01"), Decimal("50000"), last_buy_price=Decimal("60000"))
    assert decide(ev(), full, RICH, LIMITS, NOW).code is SkipCode.MAX_POSITION


def test_buy_below_exchange_minimum_skips():
    poor = Balances(Decimal("0.50"), Decimal("0"))
    decision = decide(ev(), FLAT, poor, LIMITS, NOW)
    assert decision.code is SkipCode.BELOW_MINIMUM and "minimum 1" in decision.reason


def test_sell_exits_the_whole_position_rounded_down():
    held = PositionView(Decimal("0.123456789"), Decimal("50000"), last_buy_price=Decimal("50000"))
    decision = decide(ev(Action.SELL, -0.5), held, Balances(Decimal("0"), Decimal("0.123456789")), LIMITS, NOW)
    assert isinstance(decision, OrderIntent)
    assert decision.side is Side.SELL and decision.base_size == Decimal("0.12345678") and decision.quote_size is None


def test_sell_never_exceeds_what_the_wallet_holds():
    held = PositionView(Decimal("0.2"), Decimal("50000"))
    decision = decide(ev(Action.SELL, -0.5), held, Balances(Decimal("0"), Decimal("0.15")), LIMITS, NOW)
    assert decision.base_size == Decimal("0.15")


def test_sell_with_nothing_to_sell_skips():
    assert decide(ev(Action.SELL, -0.5), FLAT, RICH, LIMITS, NOW).code is SkipCode.NOTHING_TO_SELL


def test_dust_position_skips():
    dust = PositionView(Decimal("0.00001"), Decimal("50000"))
    decision = decide(ev(Action.SELL, -0.5), dust, Balances(Decimal("0"), Decimal("0.00001")), LIMITS, NOW)
    assert decision.code is SkipCode.BELOW_MINIMUM


def test_disabled_product_skips():
    limits = replace(LIMITS, product=replace(BTC, trading_disabled=True))
    assert decide(ev(), FLAT, RICH, limits, NOW).code is SkipCode.PRODUCT_DISABLED


def test_precheck_skips_when_nothing_can_be_done():
    skip = precheck(FLAT, Balances(Decimal("0.5"), Decimal("0")), LIMITS)
    assert skip.code is SkipCode.NO_FUNDS and "signals not computed" in skip.reason
    assert precheck(FLAT, RICH, LIMITS) is None
    held = PositionView(Decimal("0.01"), Decimal("50000"))
    assert precheck(held, Balances(Decimal("0"), Decimal("0.01")), LIMITS) is None
