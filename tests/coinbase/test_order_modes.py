"""An order is looked up, resolved and reconciled on the exchange it was sent to.

Whatever its bot or the process says now: a live order left unknown stays a
live order after its bot is switched to paper or the system restarts with
TRADING_MODE=paper, and its fill is booked once, from Coinbase, when Coinbase
answers again. Every start of a live bot runs the live checks again.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from bots.models import ActivityEvent, Bot
from bots.services import bot_start
from market import services
from market.services import exchange_for, exchange_for_mode
from tests.coinbase.test_live_path import assert_books_match, assert_one_post_per_decision
from trading.live import live_preflight
from trading.models import Order, Trade
from trading.reconcile import reconcile
from trading.runner import Runner
from trading.services import UNKNOWN_ORDER_GIVE_UP

pytestmark = pytest.mark.django_db
LOOKUPS = "GET /orders/historical/batch"


@pytest.fixture
def live_settings(coinbase_settings, cb_exchange, monkeypatch):
    """TRADING_MODE=live on Coinbase prices; the process's live exchange is the fake's (fast retries)."""
    coinbase_settings.TRADING_MODE = "live"
    coinbase_settings.MARKET_DATA = "coinbase"
    monkeypatch.setitem(services._exchanges, "live", cb_exchange)
    return coinbase_settings


def runner(market) -> Runner:
    """The runner as runbots builds it: the real exchange choosers of market.services."""
    return Runner(market=market, exchange_for=exchange_for, exchange_for_mode=exchange_for_mode, owner="t")


def unknown_live_order(live_bot, live_market, fake_coinbase) -> tuple[Bot, Order]:
    """A live buy Coinbase accepted and filled, whose answer was lost and whose look-ups fail (503)."""
    fake_coinbase.faults.add("POST /orders", "drop")
    fake_coinbase.faults.add(LOOKUPS, "status", 503, times=None)
    bot = live_bot(score=1.0)
    report = runner(live_market).tick()
    assert [r.outcome for r in report.results] == ["ordered"]
    order = Order.objects.get()
    assert (order.mode, order.status) == ("live", "UNKNOWN")
    assert len(fake_coinbase.state.all_fills()) >= 1  # Coinbase filled it
    return bot, order


def test_unknown_live_order_survives_a_switch_to_paper_and_a_paper_restart(
    live_settings, live_bot, live_market, fake_coinbase, cb_clock
):
    bot, order = unknown_live_order(live_bot, live_market, fake_coinbase)
    # The bot is switched to paper (as the API accepted before) and the system restarts in paper mode.
    Bot.objects.filter(pk=bot.pk).update(live=False)
    live_settings.TRADING_MODE = "paper"
    services._exchanges.pop("paper", None)
    for _ in range(3):
        cb_clock.shift(UNKNOWN_ORDER_GIVE_UP + timedelta(minutes=1))
        report = runner(live_market).tick()
        assert [r.outcome for r in report.results] == ["skipped"]  # waits for its live order, on paper too
        order.refresh_from_db()
        assert order.status == "UNKNOWN", "a live order was written off on the paper wallet's word"
    assert not Trade.objects.exists()

    fake_coinbase.faults.clear()  # Coinbase answers again
    runner(live_market).tick()
    order.refresh_from_db()
    assert order.status == "FILLED"
    # And back to live: the fill stays booked exactly once.
    live_settings.TRADING_MODE = "live"
    Bot.objects.filter(pk=bot.pk).update(live=True)
    set_hold(bot)
    runner(live_market).tick()
    runner(live_market).tick()
    assert Trade.objects.count() == len(fake_coinbase.state.all_fills())
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)
    assert reconcile(exchange_for_mode=exchange_for_mode, now=live_market.now()) == []


def set_hold(bot: Bot) -> None:
    bot.refresh_from_db()
    Bot.objects.filter(pk=bot.pk).update(signal_config={"fixed": {"enabled": True, "weight": 1.0, "score": 0.0}})


def test_without_credentials_a_live_order_stays_unknown_and_says_why(
    live_settings, live_bot, live_market, fake_coinbase, cb_clock
):
    bot, order = unknown_live_order(live_bot, live_market, fake_coinbase)
    fake_coinbase.faults.clear()
    live_settings.TRADING_MODE = "paper"
    live_settings.COINBASE_API_KEY = live_settings.COINBASE_API_SECRET = ""
    services._exchanges.clear()
    Bot.objects.filter(pk=bot.pk).update(live=False)
    for _ in range(2):
        cb_clock.shift(UNKNOWN_ORDER_GIVE_UP * 2)
        report = runner(live_market).tick()
        assert [r.outcome for r in report.results] == ["skipped"]
    order.refresh_from_db()
    assert order.status == "UNKNOWN"
    [event] = ActivityEvent.objects.filter(kind="error", message__contains="cannot be looked up")
    assert event.level == "error"
    assert order.client_order_id in event.message and "live orders need Coinbase credentials" in event.message
    assert Order.objects.count() == 1  # and the bot placed nothing new meanwhile


def test_reconcile_asks_the_exchange_each_order_went_to(live_settings, live_bot, live_market, fake_coinbase, wallet):
    bot = live_bot(score=1.0)
    runner(live_market).tick()
    assert Order.objects.get().mode == "live"
    # The bot goes to paper: its live order is still Coinbase's to tell.
    Bot.objects.filter(pk=bot.pk).update(live=False)
    live_settings.TRADING_MODE = "paper"
    assert reconcile(exchange_for_mode=exchange_for_mode, now=live_market.now()) == []
    # A fill booked here that Coinbase does not know is found on the live order.
    Trade.objects.update(trade_id="ghost")
    kinds = {
        (d.kind, d.detail.split(":")[0]) for d in reconcile(exchange_for_mode=exchange_for_mode, now=live_market.now())
    }
    order = Order.objects.get()
    assert ("unknown_trade", order.client_order_id) in kinds


def test_reconcile_with_coinbase_unreachable_exits_3_with_one_line(live_settings, live_bot, live_market, fake_coinbase):
    live_bot(score=1.0)
    runner(live_market).tick()
    fake_coinbase.faults.add(LOOKUPS, "status", 503, times=None)
    fake_coinbase.faults.add("GET /orders/historical/*", "status", 503, times=None)
    with pytest.raises(CommandError) as raised:
        call_command("reconcile_positions", "check")
    assert raised.value.returncode == 3
    message = str(raised.value)
    assert "\n" not in message and "could not look up live order" in message and "nothing was changed" in message


def test_a_live_bot_paused_by_the_checks_is_checked_again_when_started(
    live_settings, live_bot, live_market, fake_coinbase
):
    fake_coinbase.state.permissions["can_trade"] = False
    bot = live_bot(score=1.0)
    [result] = live_preflight(exchange_for=exchange_for, market=live_market, now=live_market.now())
    assert not result.ok
    bot = bot_start(bot=Bot.objects.get(pk=bot.pk), at=live_market.now())  # as the API's start does
    report = runner(live_market).tick()
    assert [r.outcome for r in report.results] == ["skipped"]
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PAUSED and "lacks the view and trade permissions" in bot.paused_reason
    assert fake_coinbase.order_posts() == []
    # With the permission granted, the next start checks again and trades.
    fake_coinbase.state.permissions["can_trade"] = True
    checks = len(fake_coinbase.requests("GET /key_permissions"))
    bot_start(bot=bot, at=live_market.now())
    assert [r.outcome for r in runner(live_market).tick().results] == ["ordered"]
    assert len(fake_coinbase.requests("GET /key_permissions")) == checks + 1
    assert Bot.objects.get(pk=bot.pk).live_checked_at is not None
    # A passed check lasts until the next start: the key loses the permission, the bot is restarted.
    fake_coinbase.state.permissions["can_trade"] = False
    bot_start(bot=Bot.objects.get(pk=bot.pk), at=live_market.now())
    assert [r.outcome for r in runner(live_market).tick().results] == ["skipped"]
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.PAUSED
    assert len(fake_coinbase.order_posts()) == 1


def test_switching_a_running_bot_to_live_runs_the_checks(live_settings, live_bot, live_market, fake_coinbase):
    from bots.services import bot_update

    bot = live_bot(score=0.0, position_size_usd=Decimal("20"))
    assert [r.outcome for r in runner(live_market).tick().results] == ["skipped"]  # holds, after the checks
    assert Bot.objects.get(pk=bot.pk).live_checked_at is not None
    bot_update(bot=Bot.objects.get(pk=bot.pk), live=False)
    fake_coinbase.state.permissions["can_trade"] = False
    Bot.objects.filter(pk=bot.pk).update(signal_config={"fixed": {"enabled": True, "weight": 1.0, "score": 1.0}})
    bot_update(bot=Bot.objects.get(pk=bot.pk), live=True)  # back to live while running: checked again
    assert [r.outcome for r in runner(live_market).tick().results] == ["skipped"]
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.PAUSED
    assert fake_coinbase.order_posts() == []


def test_a_paper_position_is_never_sold_on_coinbase(live_settings, live_bot, live_market, fake_coinbase):
    """Bought on paper, then TRADING_MODE=live with the bot's switch on: the sell would sell the owner's coins."""
    from market.paper import paper_deposit

    paper_deposit("USD", Decimal("1000"))
    fake_coinbase.state.available["BTC"] = Decimal("1")  # the owner's own coins, not the bot's
    live_settings.TRADING_MODE = "paper"
    bot = live_bot(score=1.0)  # switched to live, but the system trades on paper
    assert [r.outcome for r in runner(live_market).tick().results] == ["ordered"]
    assert Order.objects.get().mode == "paper"
    live_settings.TRADING_MODE = "live"  # a restart in live mode
    Bot.objects.filter(pk=bot.pk).update(signal_config={"fixed": {"enabled": True, "weight": 1.0, "score": -1.0}})
    [result] = runner(live_market).tick().results
    assert result.outcome == "skipped" and "bought on paper" in result.detail
    assert fake_coinbase.order_posts() == []
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PAUSED and bot.pause_code == "mode_mismatch"
