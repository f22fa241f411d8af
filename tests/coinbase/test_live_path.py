"""The whole live path: bot_tick -> order_submit -> CoinbaseExchange -> SDK -> HTTPS -> the fake.

In every case: exactly one POST /orders per decision on the fake's side, and
the bot's position (rebuilt from Trade rows) equal to the fake's fills to the
last satoshi.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from bots.models import ActivityEvent, Bot
from market.coinbase import CoinbaseExchange
from market.types import OrderStatus, Side
from tests.coinbase.test_exchange import REASONS
from tests.conftest import set_score
from trading.engine import bot_tick
from trading.models import Order, Position, Trade
from trading.services import UNKNOWN_ORDER_GIVE_UP, orders_resolve_unresolved

pytestmark = pytest.mark.django_db


def tick(bot, market, exchange):
    return bot_tick(bot.pk, market=market, exchange_for=lambda b: exchange, now=market.now(), owner="test")


def resolve(market, exchange) -> int:
    return orders_resolve_unresolved(exchange_for_mode=lambda mode: exchange, now=market.now())


def assert_one_post_per_decision(fake) -> None:
    """Every order row (one per decision) reached the fake exactly once, and nothing else did."""
    assert Counter(fake.order_posts()) == Counter(o.client_order_id for o in Order.objects.all())


def assert_books_match(fake, bot) -> None:
    """Trades are Coinbase's fills, and the position is what those fills add up to."""
    fills = fake.state.all_fills()
    trades = {t.trade_id: (t.side, t.price, t.size, t.fee, t.fee_currency) for t in Trade.objects.filter(bot=bot)}
    assert trades == {f.entry_id: (f.side.value, f.price, f.base, f.commission, "USD") for f in fills}
    held = sum((f.base if f.side is Side.BUY else -f.base for f in fills), Decimal("0"))
    position = Position.objects.filter(bot=bot).first()
    assert (position.base_size if position else Decimal("0")) == held
    assert fake.state.available["BTC"] == held  # the account started with no BTC
    usd = Decimal("1000") + sum(
        (f.base * f.price - f.commission if f.side is Side.SELL else -(f.base * f.price + f.commission) for f in fills),
        Decimal("0"),
    )
    assert fake.state.available["USD"] == usd
    if position and not any(f.side is Side.SELL for f in fills):
        assert position.cost_basis == sum((f.base * f.price + f.commission for f in fills), Decimal("0"))


def test_confirmed_signal_becomes_exactly_one_live_order(live_bot, live_market, cb_exchange, fake_coinbase):
    fake_coinbase.state.fills_per_order = 3
    bot = live_bot(score=1.0, position_size_usd=Decimal("100"))
    result = tick(bot, live_market, cb_exchange)
    assert result.outcome == "ordered", result.detail
    order = Order.objects.get()
    assert (order.mode, order.side, order.status) == ("live", "BUY", "FILLED")
    assert order.exchange_order_id == fake_coinbase.state.orders[0].order_id
    assert fake_coinbase.requests("POST /orders")[0].body["order_configuration"] == {
        "market_market_ioc": {"quote_size": "100.00"}
    }
    assert Trade.objects.count() == 3
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


def test_buy_then_sell_exits_to_the_last_satoshi(live_bot, live_market, cb_exchange, fake_coinbase, cb_clock):
    bot = live_bot(score=1.0)
    tick(bot, live_market, cb_exchange)
    set_score(bot, -1.0)
    cb_clock.shift(timedelta(minutes=30))
    assert tick(bot, live_market, cb_exchange).outcome == "ordered"
    buy, sell = Order.objects.order_by("id")
    assert sell.side == "SELL" and sell.status == "FILLED"
    sent = fake_coinbase.requests("POST /orders")[1].body["order_configuration"]["market_market_ioc"]
    assert Decimal(sent["base_size"]) == buy.filled_size
    position = Position.objects.get(bot=bot)
    assert position.base_size == 0 and position.cost_basis == 0
    b, s = Trade.objects.get(order=buy), Trade.objects.get(order=sell)
    assert position.realised_pnl == s.price * s.size - s.fee - (b.price * b.size + b.fee)
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


@pytest.mark.parametrize("status", [429, 503, 500])
def test_refused_order_requests_are_never_resent(live_bot, live_market, cb_exchange, fake_coinbase, cb_clock, status):
    """A 429 burst or 5xx answers: each decision is one POST; while an order's outcome is unknown
    the bot places no other; unplaced orders end failed, and a later decision fills."""
    fake_coinbase.faults.add("POST /orders", "status", status, times=2)
    bot = live_bot(score=1.0, position_size_usd=Decimal("50"))
    for _ in range(2):
        assert tick(bot, live_market, cb_exchange).outcome == "ordered"  # outcome unknown
        for _ in range(3):
            cb_clock.shift(timedelta(minutes=1))
            assert tick(bot, live_market, cb_exchange).outcome == "skipped"  # waits: no double exposure
        cb_clock.shift(UNKNOWN_ORDER_GIVE_UP)
        resolve(live_market, cb_exchange)
    assert tick(bot, live_market, cb_exchange).outcome == "ordered"
    assert [o.status for o in Order.objects.order_by("id")] == ["FAILED", "FAILED", "FILLED"]
    assert [r.status for r in fake_coinbase.requests("POST /orders")] == [status, status, 200]
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


def test_connection_dropped_after_the_order_was_accepted(live_bot, live_market, cb_exchange, fake_coinbase):
    fake_coinbase.faults.add("POST /orders", "drop")
    bot = live_bot(score=1.0)
    assert tick(bot, live_market, cb_exchange).outcome == "ordered"
    order = Order.objects.get()
    assert order.status == "FILLED"  # found at once by its client_order_id
    assert fake_coinbase.requests("POST /orders")[0].status == 0
    assert ActivityEvent.objects.filter(bot=bot, message__contains="outcome unknown").exists()
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


@pytest.mark.slow
def test_slow_answer_beyond_the_timeout_is_resolved_later(live_bot, live_market, cb_exchange, fake_coinbase):
    fake_coinbase.faults.add("POST /orders", "delay", 1.5)  # the client gives up after 0.5 s
    bot = live_bot(score=1.0)
    tick(bot, live_market, cb_exchange)
    assert Order.objects.get().status == "UNKNOWN"  # Coinbase had not created it yet when we looked
    deadline = time.monotonic() + 5
    while not fake_coinbase.state.orders and time.monotonic() < deadline:
        time.sleep(0.05)
    resolve(live_market, cb_exchange)
    assert Order.objects.get().status == "FILLED"
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


def test_partial_fill_books_only_what_filled(live_bot, live_market, cb_exchange, fake_coinbase):
    fake_coinbase.faults.add("POST /orders", "partial", "0.4")
    bot = live_bot(score=1.0)
    tick(bot, live_market, cb_exchange)
    order = Order.objects.get()
    assert order.status == "CANCELLED" and order.filled_size > 0
    assert Position.objects.get(bot=bot).base_size == order.filled_size
    assert resolve(live_market, cb_exchange) == 0  # done: nothing left to look up
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


def test_fills_that_lag_are_booked_when_they_arrive(live_bot, live_market, cb_exchange, fake_coinbase):
    fake_coinbase.faults.add("POST /orders", "fills-lag", 1)
    bot = live_bot(score=1.0)
    tick(bot, live_market, cb_exchange)
    assert Order.objects.get().status == "PARTIALLY_FILLED" and not Trade.objects.exists()
    resolve(live_market, cb_exchange)
    assert Order.objects.get().status == "FILLED"
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


@pytest.mark.parametrize("reason", REASONS)
def test_each_rejection_is_recorded_with_coinbase_reason(live_bot, live_market, cb_exchange, fake_coinbase, reason):
    fake_coinbase.faults.add("POST /orders", "reject", reason)
    bot = live_bot(score=1.0)
    tick(bot, live_market, cb_exchange)
    order = Order.objects.get()
    assert (order.status, order.reject_reason) == ("REJECTED", reason)
    bot.refresh_from_db()
    assert bot.consecutive_failures == 1
    assert ActivityEvent.objects.filter(bot=bot, kind="error", message__contains=reason).exists()
    assert resolve(live_market, cb_exchange) == 0
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


def test_consecutive_rejections_pause_the_bot(live_bot, live_market, cb_exchange, fake_coinbase, cb_clock, settings):
    settings.MAX_CONSECUTIVE_FAILURES = 3
    fake_coinbase.faults.add("POST /orders", "reject", "INSUFFICIENT_FUND", times=None)
    bot = live_bot(score=1.0)
    for _ in range(4):
        tick(bot, live_market, cb_exchange)
        cb_clock.shift(timedelta(minutes=1))
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PAUSED and "INSUFFICIENT_FUND" in bot.paused_reason
    assert Order.objects.count() == 3
    assert_one_post_per_decision(fake_coinbase)


def test_restart_resolves_an_order_left_unknown(coinbase_settings, live_bot, live_market, cb_exchange, fake_coinbase):
    fake_coinbase.faults.add("POST /orders", "drop")
    fake_coinbase.faults.add("GET /orders/historical/batch", "status", 503, times=None)
    bot = live_bot(score=1.0)
    tick(bot, live_market, cb_exchange)
    assert Order.objects.get().status == "UNKNOWN"  # placed, but the look-up failed too
    fake_coinbase.faults.clear()
    restarted = CoinbaseExchange.from_settings()  # a new process: no memory of order ids
    assert resolve(live_market, restarted) == 1
    order = Order.objects.get()
    assert order.status == "FILLED" and order.exchange_order_id == fake_coinbase.state.orders[0].order_id
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)


def test_restart_fails_an_order_that_never_reached_coinbase(
    live_bot, live_market, cb_exchange, fake_coinbase, cb_clock
):
    """The process died between writing the order and sending it."""
    bot = live_bot(score=1.0)
    Order.objects.create(
        bot=bot,
        client_order_id="at-never-sent",
        decision_key="never-sent",
        mode="live",
        product_id="BTC-USD",
        side="BUY",
        quote_size=Decimal("100"),
        created_at=live_market.now(),
    )
    resolve(live_market, cb_exchange)
    assert Order.objects.get().status == "UNKNOWN"  # too early to give up
    cb_clock.shift(UNKNOWN_ORDER_GIVE_UP)
    resolve(live_market, cb_exchange)
    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED.value and "never reached" in order.reject_message
    assert fake_coinbase.order_posts() == []
    assert_books_match(fake_coinbase, bot)
