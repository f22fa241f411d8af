"""The execution engine on the simulated market and the paper exchange."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from bots.models import ActivityEvent, Bot
from bots.services import bot_evaluate_now
from market.exchange import OrderRejected
from market.models import PaperBalance, PaperOrder
from market.paper import PaperExchange
from market.types import OrderStatus, Side
from tests.conftest import set_score
from trading.accounting import replay
from trading.engine import bot_claim, bot_tick
from trading.models import Order, Position, Trade
from trading.risk import OrderIntent
from trading.services import kill_switch_set, order_submit, orders_resolve_unresolved

pytestmark = pytest.mark.django_db


def tick(bot, market, exchange, owner="test"):
    return bot_tick(bot.pk, market=market, exchange_for=lambda b: exchange, now=market.now(), owner=owner)


def usd() -> Decimal:
    return PaperBalance.objects.get(currency="USD").available


def test_confirmed_buy_places_one_order_and_books_the_fill(make_bot, market, wallet):
    bot = make_bot(score=1.0, position_size_usd=Decimal("100"))
    result = tick(bot, market, wallet)
    assert result.outcome == "ordered"
    order = Order.objects.get()
    assert (order.side, order.status, order.quote_size) == ("BUY", "FILLED", Decimal("100.00"))
    trade = Trade.objects.get()
    position = Position.objects.get(bot=bot)
    assert position.base_size == trade.size > 0
    assert position.cost_basis == trade.price * trade.size + trade.fee
    assert usd() == Decimal("1000") - position.cost_basis
    kinds = list(ActivityEvent.objects.filter(bot=bot).values_list("kind", flat=True))
    assert {"decision", "order", "fill"} <= set(kinds)


def test_signal_waits_for_confirmation_then_buys(make_bot, market, wallet, clock):
    bot = make_bot(score=1.0, confirmation_minutes=5)
    assert tick(bot, market, wallet).outcome == "skipped"
    bot.refresh_from_db()
    assert bot.last_skip_code == "unconfirmed"
    assert bot.confirmation_action == "buy"
    clock.advance(timedelta(minutes=4))
    assert tick(bot, market, wallet).outcome == "skipped"
    clock.advance(timedelta(minutes=1))
    assert tick(bot, market, wallet).outcome == "ordered"
    assert Order.objects.count() == 1


def test_sell_exits_the_position_and_realises_pnl(make_bot, market, wallet, clock):
    bot = make_bot(score=1.0)
    tick(bot, market, wallet)
    set_score(bot, -1.0)
    clock.advance(timedelta(minutes=30))
    assert tick(bot, market, wallet).outcome == "ordered"
    position = Position.objects.get(bot=bot)
    assert position.base_size == 0 and position.cost_basis == 0
    buy, sell = Trade.objects.order_by("executed_at")
    expected = sell.price * sell.size - sell.fee - (buy.price * buy.size + buy.fee)
    assert position.realised_pnl == expected == sell.realised_pnl
    assert usd() == Decimal("1000") + expected
    assert PaperBalance.objects.get(currency="BTC").available == 0


def test_kill_switch_stops_orders_within_one_tick(make_bot, market, wallet):
    bot = make_bot(score=1.0)
    kill_switch_set(engaged=True, reason="test", at=market.now())
    result = tick(bot, market, wallet)
    assert result.outcome == "skipped" and "kill switch" in result.detail
    assert not Order.objects.exists()
    kill_switch_set(engaged=False, at=market.now())
    assert tick(bot, market, wallet).outcome == "ordered"


def test_kill_switch_checked_again_when_the_order_is_written(make_bot, market, wallet):
    bot = make_bot()
    kill_switch_set(engaged=True, at=market.now())
    intent = OrderIntent(Side.BUY, Decimal("10"), None, "test")
    product = market.product("BTC-USD")
    with pytest.raises(Exception, match="kill switch"):
        order_submit(bot=bot, intent=intent, product=product, exchange=wallet, decision_key="k", now=market.now())
    assert not Order.objects.exists() and not PaperOrder.objects.exists()


def test_one_decision_places_one_order(make_bot, market, wallet):
    bot = make_bot()
    intent = OrderIntent(Side.BUY, Decimal("10"), None, "test")
    product = market.product("BTC-USD")
    first = order_submit(bot=bot, intent=intent, product=product, exchange=wallet, decision_key="d1", now=market.now())
    again = order_submit(bot=bot, intent=intent, product=product, exchange=wallet, decision_key="d1", now=market.now())
    assert first.pk == again.pk
    assert Order.objects.count() == PaperOrder.objects.count() == Trade.objects.count() == 1


def test_bot_not_running_is_not_evaluated(make_bot, market, wallet):
    bot = make_bot()
    Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.STOPPED)
    assert tick(bot, market, wallet).outcome == "skipped"
    bot.refresh_from_db()
    assert bot.last_evaluated_at is None


def test_held_lease_means_busy(make_bot, market, wallet):
    bot = make_bot()
    assert bot_claim(bot.pk, "other-runner")
    assert tick(bot, market, wallet, owner="me").outcome == "busy"
    assert not Order.objects.exists()


def test_expired_lease_can_be_taken(make_bot, market, wallet, settings):
    settings.RUNNER_LEASE_SECONDS = 1
    bot = make_bot()
    assert bot_claim(bot.pk, "dead-runner")
    time.sleep(1.1)
    assert tick(bot, market, wallet, owner="me").outcome == "ordered"


class HeldMarket:
    """The real cached market, but a candle read waits until the test lets it go.

    That holds the first evaluation inside its lease while a second one tries.
    """

    def __init__(self, market):
        self._market = market
        self.name = market.name
        self.inside = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name):
        return getattr(self._market, name)

    def candles(self, *args):
        self.inside.set()
        assert self.release.wait(10)
        return self._market.candles(*args)


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_never_evaluate_one_bot_twice(make_bot, market, wallet):
    bot = make_bot(score=1.0)
    held = HeldMarket(market)
    now = market.now()
    first = []
    runner_a = threading.Thread(
        target=lambda: first.append(
            bot_tick(bot.pk, market=held, exchange_for=lambda b: wallet, now=now, owner="runner-a").outcome
        )
    )
    runner_a.start()
    assert held.inside.wait(10)  # runner A is evaluating, holding the lease
    second = bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=now, owner="runner-b")
    held.release.set()
    runner_a.join(10)
    assert second.outcome == "busy"
    assert first == ["ordered"]
    assert Order.objects.count() == PaperOrder.objects.count() == 1


def test_no_funds_skips_signal_computation(make_bot, market, exchange):
    bot = make_bot(score=1.0)  # the wallet is empty
    result = tick(bot, market, exchange)
    assert result.outcome == "skipped" and "signals not computed" in result.detail
    bot.refresh_from_db()
    assert bot.last_skip_code == "no_funds" and bot.last_evaluated_at is None


def test_skips_are_recorded_once_per_change_of_reason(make_bot, market, wallet, clock):
    bot = make_bot(score=0.0)
    for _ in range(3):
        tick(bot, market, wallet)
        clock.advance(timedelta(seconds=10))
    assert ActivityEvent.objects.filter(bot=bot, kind="skip").count() == 1


def test_daily_loss_limit_pauses_the_bot(make_bot, market, wallet, clock):
    bot = make_bot(score=1.0, daily_loss_limit_usd=Decimal("0.01"))
    tick(bot, market, wallet)
    set_score(bot, -1.0)
    clock.advance(timedelta(minutes=1))
    tick(bot, market, wallet)  # sells at a loss (fees alone make it one)
    assert Position.objects.get(bot=bot).realised_pnl < 0
    set_score(bot, 1.0)
    clock.advance(timedelta(minutes=1))
    result = tick(bot, market, wallet)
    bot.refresh_from_db()
    assert result.outcome == "skipped"
    assert bot.status == Bot.Status.PAUSED and bot.pause_code == "daily_loss_limit"
    assert "daily loss limit" in bot.paused_reason


def test_daily_reset_resumes_the_next_market_day(make_bot, market, wallet, clock):
    from bots.services import bot_pause
    from trading.tasks import daily_reset

    bot = make_bot()
    bot_pause(bot=bot, reason="daily loss limit reached", at=market.now(), code="daily_loss_limit")
    assert daily_reset() == 0
    clock.advance(timedelta(days=1))
    assert daily_reset() == 1
    bot.refresh_from_db()
    assert bot.status == Bot.Status.RUNNING


def test_evaluate_now_stores_the_evaluation_and_never_trades(make_bot, market, wallet):
    bot = make_bot(score=0.5)
    ev = bot_evaluate_now(bot, market)
    bot.refresh_from_db()
    assert bot.last_score == pytest.approx(0.5) == ev.score
    assert bot.last_temperature == "HOT" and bot.last_evaluation["action"] == "buy"
    assert not Order.objects.exists()


# --- faults at the exchange ----------------------------------------------------
class FaultyExchange(PaperExchange):
    """The paper exchange with an injected fault around order placement."""

    def __init__(self, market, fault: str):
        super().__init__(market, fee_rate=Decimal("0.006"), slippage_rate=Decimal("0.0005"))
        self.fault = fault
        self.calls = 0

    def place_market_order(self, **kwargs):
        self.calls += 1
        if self.fault == "reject":
            raise OrderRejected("INVALID_SIZE_PRECISION", "size has too many decimals")
        if self.fault == "lost-before":
            raise ConnectionError("connection reset before the request was sent")
        result = super().place_market_order(**kwargs)
        if self.fault == "lost-after":
            raise TimeoutError("read timed out after the exchange accepted the order")
        return result


def test_rejection_is_recorded_and_repeated_failures_pause(make_bot, market, wallet, clock, settings):
    settings.MAX_CONSECUTIVE_FAILURES = 2
    bot = make_bot(score=1.0)
    faulty = FaultyExchange(market, "reject")
    tick(bot, market, faulty)
    order = Order.objects.get()
    assert order.status == "REJECTED" and order.reject_reason == "INVALID_SIZE_PRECISION"
    assert ActivityEvent.objects.filter(kind="error", message__contains="INVALID_SIZE_PRECISION").exists()
    clock.advance(timedelta(minutes=1))
    tick(bot, market, faulty)
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PAUSED and "2 failed orders in a row" in bot.paused_reason
    assert faulty.calls == 2  # each decision tried once, never retried blindly


def test_lost_response_is_resolved_by_lookup_not_resent(make_bot, market, wallet):
    bot = make_bot(score=1.0)
    faulty = FaultyExchange(market, "lost-after")
    tick(bot, market, faulty)
    order = Order.objects.get()
    assert order.status == "FILLED"
    assert faulty.calls == 1 and PaperOrder.objects.count() == 1
    assert Position.objects.get(bot=bot).base_size == Trade.objects.get().size


def test_order_that_never_arrived_is_failed_after_the_grace_period(make_bot, market, wallet, clock, time_machine):
    time_machine.move_to("2026-05-01 12:00:00+00:00", tick=False)
    bot = make_bot(score=1.0)
    faulty = FaultyExchange(market, "lost-before")
    tick(bot, market, faulty)
    order = Order.objects.get()
    assert order.status == OrderStatus.UNKNOWN
    orders_resolve_unresolved(exchange_for_mode=lambda mode: wallet, now=market.now())
    assert Order.objects.get().status == OrderStatus.UNKNOWN
    # Six minutes of market time (a fast simulated clock: seconds of real time) give up nothing:
    # the wait is for the exchange's answer, in wall-clock time.
    clock.advance(timedelta(minutes=6))
    time_machine.move_to("2026-05-01 12:00:05+00:00", tick=False)
    orders_resolve_unresolved(exchange_for_mode=lambda mode: wallet, now=market.now())
    assert Order.objects.get().status == OrderStatus.UNKNOWN
    time_machine.move_to("2026-05-01 12:05:01+00:00", tick=False)
    orders_resolve_unresolved(exchange_for_mode=lambda mode: wallet, now=market.now())
    assert Order.objects.get().status == OrderStatus.FAILED
    assert not PaperOrder.objects.exists() and not Trade.objects.exists()


def test_positions_equal_the_fills(make_bot, market, wallet, clock):
    bot = make_bot(score=1.0, trade_step_pct=Decimal("0"), max_position_usd=Decimal("1000"))
    for score in (1.0, 1.0, 1.0, -1.0, 1.0):
        set_score(bot, score)
        tick(bot, market, wallet)
        clock.advance(timedelta(minutes=7))
    from trading.services import _fill_record

    state = replay([_fill_record(t, "USD") for t in Trade.objects.filter(bot=bot)])
    position = Position.objects.get(bot=bot)
    assert position.base_size == state.base_size == PaperBalance.objects.get(currency="BTC").available
    assert position.tranches.count() == len(state.lots) == 1
    assert position.realised_pnl == state.realised_pnl


def test_kill_switch_engaged_between_decision_and_order_is_a_skip(make_bot, market, wallet, monkeypatch):
    import trading.engine

    bot = make_bot(score=1.0)
    kill_switch_set(engaged=True, at=market.now())
    monkeypatch.setattr(trading.engine, "kill_switch_engaged", lambda: False)  # the decision saw it off
    result = tick(bot, market, wallet)
    assert result.outcome == "skipped" and "kill switch" in result.detail
    assert not Order.objects.exists() and not PaperOrder.objects.exists()
    bot.refresh_from_db()
    assert bot.last_skip_code == "kill_switch"


def test_acknowledged_order_is_never_written_off(make_bot, market, wallet, clock):
    bot = make_bot(score=1.0)
    faulty = FaultyExchange(market, "lost-before")
    tick(bot, market, faulty)
    Order.objects.update(exchange_order_id="cb-123")  # the exchange had acknowledged it
    clock.advance(timedelta(minutes=30))
    orders_resolve_unresolved(exchange_for_mode=lambda mode: wallet, now=market.now())
    assert Order.objects.get().status == OrderStatus.UNKNOWN


def test_rejection_after_acceptance_counts_as_a_failure(make_bot, market, wallet):
    from market.types import ExchangeOrder
    from trading.services import order_apply

    bot = make_bot(score=1.0)
    intent = OrderIntent(Side.BUY, Decimal("10"), None, "test")
    order = order_submit(
        bot=bot,
        intent=intent,
        product=market.product("BTC-USD"),
        exchange=FaultyExchange(market, "lost-before"),
        decision_key="k1",
        now=market.now(),
    )
    rejected = ExchangeOrder(
        "cb-1", order.client_order_id, "BTC-USD", Side.BUY, OrderStatus.REJECTED, reject_reason="INSUFFICIENT_FUND"
    )
    order_apply(order=order, result=rejected, now=market.now())
    order.refresh_from_db()
    bot.refresh_from_db()
    assert (order.status, order.reject_reason) == ("REJECTED", "INSUFFICIENT_FUND")
    assert order.reject_message and bot.consecutive_failures == 1
    order_apply(order=order, result=rejected, now=market.now())  # seen again: counted once
    bot.refresh_from_db()
    assert bot.consecutive_failures == 1


def test_no_new_order_while_the_last_one_is_unresolved(make_bot, market, wallet, clock):
    bot = make_bot(score=1.0, trade_step_pct=Decimal("0"))
    faulty = FaultyExchange(market, "lost-before")
    tick(bot, market, faulty)  # outcome unknown
    clock.advance(timedelta(minutes=1))
    result = tick(bot, market, faulty)
    assert result.outcome == "skipped" and "to resolve before trading again" in result.detail
    assert Order.objects.count() == 1 and faulty.calls == 1
    bot.refresh_from_db()
    assert bot.last_evaluated_at == market.now()  # still evaluated and shown
