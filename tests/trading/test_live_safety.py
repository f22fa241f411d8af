"""Guards around live money that need no exchange: leaving live mode, live on simulated prices.

A bot cannot leave live mode (API, admin, dashboard, service) while one of its
live orders is unresolved; TRADING_MODE=live with simulated market data is
refused by the settings, the runner, the exchange chooser and the start script,
with one message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from autotrader.env import live_market_problem
from bots.models import Bot
from bots.services import bot_update
from market.services import exchange_for
from tests.dashboard.test_bot_form import _valid
from trading.models import Order, Position
from trading.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = live_market_problem("live", "simulated")


def order_row(bot: Bot, market, client_order_id: str, **fields) -> Order:
    """An order row as order_submit writes it (a 50 USD buy on the bot's pair), with ``fields`` changed."""
    values = {
        "decision_key": f"{bot.pk}:{client_order_id}",
        "mode": "paper",
        "product_id": bot.product_id,
        "side": "BUY",
        "quote_size": Decimal("50"),
        "created_at": market.now(),
        **fields,
    }
    return Order.objects.create(bot=bot, client_order_id=client_order_id, **values)


def live_bot_with_order(make_bot, market, status: str) -> tuple[Bot, Order]:
    bot = make_bot(score=0.0, live=True, name="Live One")
    order = order_row(bot, market, "at-unresolved-1", mode="live", status=status)
    return Bot.objects.get(pk=bot.pk), order


@pytest.fixture
def staff_api(db, django_user_model) -> APIClient:
    user = django_user_model.objects.create_user("ops", password="a-long-password", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["UNKNOWN", "PENDING", "OPEN", "PARTIALLY_FILLED"])
def test_the_api_refuses_to_take_a_bot_with_an_unresolved_live_order_off_live(make_bot, market, staff_api, status):
    bot, order = live_bot_with_order(make_bot, market, status)
    response = staff_api.patch(f"/api/v1/bots/{bot.pk}", {"live": False}, format="json")
    assert response.status_code == 400, response.content
    assert "at-unresolved-1" in str(response.json()) and "live" in str(response.json())
    assert Bot.objects.get(pk=bot.pk).live is True
    # Once the order's outcome is known, the switch is free again.
    Order.objects.filter(pk=order.pk).update(status="FILLED")
    assert staff_api.patch(f"/api/v1/bots/{bot.pk}", {"live": False}, format="json").status_code == 200
    assert Bot.objects.get(pk=bot.pk).live is False


@pytest.mark.django_db
def test_the_service_the_admin_and_the_dashboard_refuse_it_too(make_bot, market, admin_client):
    bot, _ = live_bot_with_order(make_bot, market, "UNKNOWN")
    with pytest.raises(ValidationError) as raised:
        bot_update(bot=bot, live=False)
    assert "at-unresolved-1" in str(raised.value.message_dict["live"])

    data = {**_valid(name=bot.name, product_id=bot.product_id), "live": ""}  # the checkbox unticked
    response = admin_client.post(reverse("dashboard:bot_edit", args=[bot.pk]), data)
    assert response.status_code == 400 and "at-unresolved-1" in response.content.decode()

    admin_page = admin_client.get(f"/admin/bots/bot/{bot.pk}/change/")
    form = admin_page.context["adminform"].form
    values = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    values.pop("live")
    response = admin_client.post(f"/admin/bots/bot/{bot.pk}/change/", {**values, "_save": "Save"})
    assert response.status_code == 200 and "at-unresolved-1" in response.content.decode()
    assert Bot.objects.get(pk=bot.pk).live is True


@pytest.mark.django_db
def test_a_paper_bot_is_free_to_leave_or_join_live(make_bot, market):
    bot = make_bot(score=0.0)
    assert bot_update(bot=Bot.objects.get(pk=bot.pk), live=True).live is True
    assert bot_update(bot=Bot.objects.get(pk=bot.pk), live=False).live is False


def test_live_on_simulated_prices_is_named_with_its_fix():
    assert "MARKET_DATA=coinbase" in MESSAGE and "TRADING_MODE=paper" in MESSAGE
    assert live_market_problem("live", "coinbase") is None
    assert live_market_problem("paper", "simulated") is None


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    environ.update(DJANGO_SECRET_KEY="x" * 50, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_the_settings_refuse_live_on_simulated_prices_with_one_line():
    done = _manage("check", TRADING_MODE="live", MARKET_DATA="simulated")
    assert done.returncode == 2
    assert done.stderr.strip() == f"autotrader: {MESSAGE}"
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_start_script_refuses_it_before_starting_anything(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS", "DATABASE_URL"))}
    environ.update(TRADING_MODE="live", MARKET_DATA="simulated", DATA_DIR=str(tmp_path), LOG_DIR=str(tmp_path))
    done = subprocess.run(
        ["bash", "scripts/start.sh"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    assert MESSAGE in done.stderr
    assert "started" not in done.stdout


@pytest.mark.django_db
def test_the_runner_and_the_exchange_chooser_refuse_it(make_bot, market, settings):
    bot = make_bot(score=0.0, live=True)
    settings.TRADING_MODE, settings.MARKET_DATA = "live", "simulated"
    with pytest.raises(ImproperlyConfigured, match="MARKET_DATA=coinbase"):
        Runner(market=market, exchange_for=exchange_for, owner="t")
    with pytest.raises(ImproperlyConfigured, match="MARKET_DATA=coinbase"):
        exchange_for(bot)


@pytest.mark.django_db
def test_reconcile_fix_counts_what_it_repaired_and_exits_1_on_what_it_could_not(make_bot, market, wallet, capsys):
    from trading.engine import bot_tick

    bot = make_bot(score=1.0)
    bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=market.now(), owner="t")
    Order.objects.update(status="UNKNOWN")  # repairable: the paper wallet knows it FILLED
    Position.objects.filter(bot=bot).update(base_size=Decimal("5"))  # repairable from the trades
    ghost = make_bot(score=0.0, name="ghost")
    order = Order.objects.get()
    # Fills here, unknown to the exchange: a person must look.
    order_row(ghost, market, "at-ghost", product_id=order.product_id, status="FILLED").trades.create(
        bot=ghost,
        trade_id="ghost-fill",
        product_id=order.product_id,
        side="BUY",
        price=Decimal("1"),
        size=Decimal("1"),
        fee=Decimal("0"),
        fee_currency="USD",
        quote_value=Decimal("1"),
        executed_at=market.now(),
    )
    Position.objects.filter(bot=ghost).delete()
    with pytest.raises(CommandError) as raised:
        call_command("reconcile_positions", "fix")
    out = capsys.readouterr().out
    assert "Repaired 2 difference(s)." in out
    assert "[found] ghost: missing_order" in out
    assert raised.value.returncode == 1 and "1 difference(s) could not be repaired" in str(raised.value)


@pytest.mark.django_db
def test_paper_orders_of_a_bot_now_live_are_reconciled_on_paper(make_bot, market, wallet, settings):
    from market.services import exchange_for_mode
    from trading.engine import bot_tick
    from trading.reconcile import reconcile

    bot = make_bot(score=1.0)
    bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=market.now(), owner="t")
    assert Order.objects.get().mode == "paper"
    Bot.objects.filter(pk=bot.pk).update(live=True)
    settings.TRADING_MODE = "live"  # Coinbase has never heard of the paper order: it must not be asked

    def chooser(mode: str):
        assert mode == "paper", "a paper order was looked up on the live exchange"
        return exchange_for_mode(mode)

    assert reconcile(exchange_for_mode=chooser, now=market.now()) == []


@pytest.mark.django_db
def test_a_bot_holding_a_position_cannot_switch_between_paper_and_live(make_bot, market, wallet):
    from trading.engine import bot_tick

    bot = make_bot(score=1.0)
    bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=market.now(), owner="t")
    assert Position.objects.get(bot=bot).base_size > 0
    with pytest.raises(ValidationError) as raised:
        bot_update(bot=Bot.objects.get(pk=bot.pk), live=True)
    assert "sell it before switching between paper and live" in str(raised.value.message_dict["live"])


@pytest.mark.django_db
def test_the_pair_cannot_change_while_an_order_is_unresolved(make_bot, market):
    bot, order = live_bot_with_order(make_bot, market, "UNKNOWN")
    with pytest.raises(ValidationError) as raised:
        bot_update(bot=bot, product_id="ETH-USD")
    assert order.client_order_id in str(raised.value.message_dict["product_id"])


@pytest.mark.django_db
def test_a_late_task_of_an_earlier_tick_places_nothing(make_bot, market, wallet, clock):
    """Queue mode: tick T's task reaches the bot after tick T+1's task bought; its rows are stale."""
    from datetime import timedelta

    from trading.engine import TickContext, bot_tick

    bot = make_bot(score=1.0, position_size_usd=Decimal("100"), max_position_usd=Decimal("100"))
    t1 = market.now()
    stale = TickContext.load(bot_ids=[bot.pk], now=t1)
    clock.advance(timedelta(seconds=10))
    assert bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=market.now(), owner="B").outcome == (
        "ordered"
    )
    late = bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=t1, owner="A", context=stale)
    assert late.outcome == "skipped" and "came first" in late.detail
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_saving_settings_does_not_undo_a_pause_made_meanwhile(make_bot, market):
    from bots.services import bot_pause

    bot = make_bot(score=0.0)
    form_copy = Bot.objects.get(pk=bot.pk)  # what a request read before the runner paused the bot
    bot_pause(bot=Bot.objects.get(pk=bot.pk), reason="3 failed orders in a row", at=market.now(), code="order_failures")
    bot_update(bot=form_copy, cooldown_minutes=15)
    bot.refresh_from_db()
    assert (bot.status, bot.pause_code, bot.cooldown_minutes) == (Bot.Status.PAUSED, "order_failures", 15)


@pytest.mark.django_db
def test_reconcile_reports_an_unresolved_order_the_exchange_does_not_know(make_bot, market, wallet):
    from trading.reconcile import reconcile

    bot = make_bot(score=0.0)
    order_row(bot, market, "at-lost", status="UNKNOWN")
    [found] = reconcile(exchange_for_mode=lambda mode: wallet, now=market.now())
    assert (found.kind, found.fixed) == ("unresolved", False) and "at-lost" in found.detail
