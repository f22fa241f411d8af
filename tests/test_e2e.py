"""End to end: the demo trades on the simulated market, and the books agree."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from bots.models import Bot
from market.models import PaperBalance, PaperOrder
from market.paper import PaperExchange
from market.types import Side
from trading.accounting import FillRecord, replay
from trading.models import Order, Position, Trade
from trading.runner import Runner

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
HOURS = 12
STEP = timedelta(minutes=1)


def test_demo_bots_buy_and_sell_and_the_books_agree(market, clock):
    call_command("seed_demo")
    exchange = PaperExchange(market, fee_rate=Decimal("0.006"), slippage_rate=Decimal("0.0005"))
    runner = Runner(market=market, exchange_for=lambda bot: exchange, owner="e2e")
    evaluated = set()
    for _ in range(int(timedelta(hours=HOURS) / STEP)):
        report = runner.tick()
        evaluated |= {r.bot_id for r in report.results if r.outcome in ("skipped", "ordered")}
        assert report.count("error") == 0, [r.detail for r in report.results if r.outcome == "error"]
        clock.advance(STEP)

    bots = list(Bot.objects.all())
    assert evaluated == {b.pk for b in bots}
    for bot in bots:
        sides = set(Trade.objects.filter(bot=bot).values_list("side", flat=True))
        assert sides == {"BUY", "SELL"}, f"{bot.name} traded {sides or 'nothing'} in {HOURS} simulated hours"

    # Every order has exactly one outcome, and the exchange saw each once.
    assert set(Order.objects.values_list("status", flat=True)) <= {"FILLED", "REJECTED"}
    assert Order.objects.count() == PaperOrder.objects.count()
    assert set(Order.objects.values_list("client_order_id", flat=True)) == set(
        PaperOrder.objects.values_list("client_order_id", flat=True)
    )
    for order in Order.objects.filter(status="FILLED"):
        assert order.trades.count() == 1

    # Positions equal the fills; the wallet equals the starting cash plus every fill.
    cash = Decimal("1000")
    for bot in bots:
        trades = list(Trade.objects.filter(bot=bot))
        fills = [
            FillRecord(t.trade_id, Side(t.side), t.price, t.size, t.fee, t.fee_currency, t.executed_at) for t in trades
        ]
        state = replay(fills)
        position = Position.objects.get(bot=bot)
        assert position.base_size == state.base_size
        assert position.realised_pnl == state.realised_pnl
        base = bot.product_id.split("-")[0]
        assert PaperBalance.objects.get(currency=base).available == state.base_size
        cash += sum((f.quote_delta for f in fills), Decimal("0"))
    assert PaperBalance.objects.get(currency="USD").available == cash
