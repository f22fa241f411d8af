"""The overview's card rows: plain values from one query, formatted once per distinct card."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bots.models import Bot
from trading.models import Order, Position, Trade
from trading.presenters import bot_card_view, card_confirmation
from trading.selectors import bot_cards

pytestmark = pytest.mark.django_db


def _fill(bot: Bot, n: int, side: str, price: str, at) -> Trade:
    order = Order.objects.create(
        bot=bot, client_order_id=f"c-{bot.pk}-{n}", decision_key=f"d-{bot.pk}-{n}", mode="paper",
        product_id=bot.product_id, side=side, status="FILLED", created_at=at,
    )  # fmt: skip
    return Trade.objects.create(
        order=order, bot=bot, trade_id=f"t-{bot.pk}-{n}", product_id=bot.product_id, side=side,
        price=Decimal(price), size=Decimal("0.01"), fee=Decimal("0.1"), fee_currency="USD",
        quote_value=Decimal(price) * Decimal("0.01"), executed_at=at,
    )  # fmt: skip


def test_a_card_carries_the_position_and_the_newest_fill_by_time(demo, clock):
    bot, other = demo
    now = clock.now()
    _fill(bot, 1, "BUY", "100", now - timedelta(minutes=5))
    _fill(bot, 2, "SELL", "120", now - timedelta(minutes=1))  # the newest by time
    _fill(bot, 3, "BUY", "90", now - timedelta(minutes=3))  # the newest by id, not by time
    Position.objects.update_or_create(
        bot=bot, defaults={"product_id": bot.product_id, "base_size": Decimal("0.5"), "cost_basis": Decimal("40")}
    )
    Bot.objects.filter(pk=bot.pk).update(last_price=Decimal("100"))
    cards = {card.pk: card for card in bot_cards()}
    card = cards[bot.pk]
    assert (card.trade_side, card.trade_price) == ("SELL", Decimal("120"))
    assert card.unrealised_pnl == Decimal("10")  # 0.5 x 100 - 40
    assert cards[other.pk].trade_side is None and cards[other.pk].unrealised_pnl is None
    assert [c.name for c in bot_cards()] == sorted(c.name for c in bot_cards())


def test_the_same_card_is_one_view_and_the_mode_or_a_value_is_another(demo):
    card = next(c for c in bot_cards() if c.pk == demo[0].pk)
    paper = bot_card_view(card, trading_mode="paper")
    assert bot_card_view(card, trading_mode="paper") is paper  # formatted once
    Bot.objects.filter(pk=demo[0].pk).update(live=True)
    live_card = next(c for c in bot_cards() if c.pk == demo[0].pk)
    assert not bot_card_view(live_card, trading_mode="paper").live  # the switch alone trades no real money
    assert bot_card_view(live_card, trading_mode="live").live


def test_the_countdown_moves_with_the_clock_while_the_card_stays_the_same(demo, clock):
    Bot.objects.filter(pk=demo[0].pk).update(
        confirmation_action="buy", confirmation_since=clock.now(), confirmation_minutes=10
    )
    card = next(c for c in bot_cards() if c.pk == demo[0].pk)
    early = card_confirmation(card, now=clock.now() + timedelta(minutes=2))
    later = card_confirmation(card, now=clock.now() + timedelta(minutes=7))
    assert "8m 00s left" in early and "3m 00s left" in later
    assert "confirmed" in card_confirmation(card, now=clock.now() + timedelta(minutes=10))
