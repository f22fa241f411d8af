"""reconcile_positions: the exchange's fills are the truth."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from market.models import PaperOrder
from trading.engine import bot_tick
from trading.models import Order, Position, Trade
from trading.reconcile import reconcile

pytestmark = pytest.mark.django_db


def traded_bot(make_bot, market, wallet):
    bot = make_bot(score=1.0)
    bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=market.now(), owner="t")
    assert Trade.objects.count() == 1
    return bot


def run(market, wallet, fix=False):
    return reconcile(exchange_for_mode=lambda mode: wallet, now=market.now(), fix=fix)


def test_matching_books_report_nothing(make_bot, market, wallet):
    traded_bot(make_bot, market, wallet)
    assert run(market, wallet) == []


def test_missing_fill_is_reported_then_restored(make_bot, market, wallet):
    bot = traded_bot(make_bot, market, wallet)
    size = Trade.objects.get().size
    Trade.objects.all().delete()  # as if the process died before recording the fill
    Position.objects.filter(bot=bot).update(base_size=0, cost_basis=0)
    found = run(market, wallet)
    assert [d.kind for d in found] == ["missing_fill"]
    run(market, wallet, fix=True)
    assert Trade.objects.get().size == size
    assert Position.objects.get(bot=bot).base_size == size
    assert run(market, wallet) == []


def test_trade_unknown_to_the_exchange_is_removed(make_bot, market, wallet):
    bot = traded_bot(make_bot, market, wallet)
    real = Trade.objects.get()
    Trade.objects.create(
        order=real.order,
        bot=bot,
        trade_id="ghost-1",
        product_id=real.product_id,
        side=real.side,
        price=real.price,
        size=Decimal("1"),
        fee=Decimal("0"),
        fee_currency="USD",
        quote_value=real.price,
        executed_at=real.executed_at,
    )
    found = run(market, wallet)
    assert any(d.kind == "unknown_trade" and "ghost-1" in d.detail for d in found)
    run(market, wallet, fix=True)
    assert list(Trade.objects.values_list("trade_id", flat=True)) == [real.trade_id]
    assert Position.objects.get(bot=bot).base_size == real.size


def test_status_difference_is_repaired(make_bot, market, wallet):
    traded_bot(make_bot, market, wallet)
    Order.objects.update(status="UNKNOWN")
    assert [d.kind for d in run(market, wallet)] == ["status"]
    run(market, wallet, fix=True)
    assert Order.objects.get().status == "FILLED"


def test_command_check_exits_non_zero_and_fix_repairs(make_bot, market, wallet, capsys):
    bot = traded_bot(make_bot, market, wallet)
    Position.objects.filter(bot=bot).update(base_size=Decimal("5"))
    with pytest.raises(CommandError, match="1 difference"):
        call_command("reconcile_positions", "check")
    call_command("reconcile_positions", "fix")
    assert "Repaired 1 difference" in capsys.readouterr().out
    assert Position.objects.get(bot=bot).base_size == Trade.objects.get().size
    call_command("reconcile_positions", "check")
    assert PaperOrder.objects.count() == 1
