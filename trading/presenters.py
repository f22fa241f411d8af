"""What the overview shows for each bot, formatted once in Python.

Every open dashboard redraws every bot's card every 5 s. Formatting each value
here, with the same functions the template filters use, and leaving the card
template only plain lookups, makes that partial several times cheaper than
filters and tags evaluated inside the template (bench/dashboard.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString

from bots.selectors import bot_confirmation
from trading.models import ActivityEvent
from trading.selectors import BotCard
from trading.templatetags.dashboard import (
    clock,
    confirmation_progress,
    price,
    score_gauge,
    signed,
    size,
    stamp,
    temperature_emoji,
    tone,
)


@dataclass(frozen=True)
class BotCardView:
    pk: int
    name: str
    product_id: str
    granularity: str
    status: str
    status_label: str
    paused_reason: str
    running: bool
    live: bool  # trades real money: the bot's switch and TRADING_MODE=live
    paper_note: str
    price: str
    temperature: str  # "" until the first evaluation
    emoji: str
    score: str
    score_tone: str
    gauge: SafeString
    action: str
    confirmation: SafeString
    position: str  # "" when flat
    unrealised: str
    unrealised_tone: str
    trade_side: str  # "" before the first trade
    trade: str
    trade_time: str
    trade_stamp: str
    skip: str
    evaluated: str
    detail_url: str
    control_url: str


@lru_cache(maxsize=4096)
def _url(name: str, pk: int, prefix: str) -> str:
    return reverse(name, args=[pk])


def _bot_url(name: str, pk: int) -> str:
    """A bot's URL, reversed once per process: the URL map does not change while it runs."""
    return _url(name, pk, get_script_prefix())


def bot_card_view(card: BotCard, *, now: datetime, trading_mode: str) -> BotCardView:
    bot, position, trade = card.bot, card.position, card.last_trade
    running = bot.status == bot.Status.RUNNING
    held = position is not None and bool(position.base_size)
    return BotCardView(
        pk=bot.pk,
        name=bot.name,
        product_id=bot.product_id,
        granularity=bot.granularity,
        status=bot.status,
        status_label=bot.get_status_display(),
        paused_reason=bot.paused_reason,
        running=running,
        live=bot.live and trading_mode == "live",
        paper_note="live switch on, but TRADING_MODE=paper" if bot.live else "paper trading",
        price=price(bot.last_price),
        temperature=bot.last_temperature,
        emoji=temperature_emoji(bot.last_temperature),
        score=signed(bot.last_score, 3),
        score_tone=tone(bot.last_score),
        gauge=score_gauge(bot.last_score, bot.buy_threshold, bot.sell_threshold),
        action=bot.last_action,
        confirmation=confirmation_progress(bot_confirmation(bot=bot, now=now)),
        position=f"{size(position.base_size)} @ {price(position.average_entry)}" if held else "",
        unrealised=signed(card.unrealised_pnl),
        unrealised_tone=tone(card.unrealised_pnl),
        trade_side=trade.side if trade else "",
        trade=f"{size(trade.size)} @ {price(trade.price)}" if trade else "",
        trade_time=clock(trade.executed_at) if trade else "",
        trade_stamp=stamp(trade.executed_at) if trade else "",
        skip=bot.last_skip_reason,
        evaluated=clock(bot.last_evaluated_at),
        detail_url=_bot_url("dashboard:bot_detail", bot.pk),
        control_url=_bot_url("dashboard:bot_stop" if running else "dashboard:bot_start", bot.pk),
    )


@dataclass(frozen=True)
class ActivityRow:
    """One line of the activity feed, every printed value formatted (and the cache key of its HTML)."""

    pk: int
    kind: str
    kind_label: str
    level: str
    side: str  # "" unless the event is about a buy or a sell
    at_iso: str
    at_stamp: str
    at_clock: str
    message: str


def activity_row(event: ActivityEvent) -> ActivityRow:
    data = event.data if isinstance(event.data, dict) else {}
    side = data.get("side")
    return ActivityRow(
        pk=event.pk,
        kind=event.kind,
        kind_label=event.get_kind_display(),
        level=event.level,
        side=side if isinstance(side, str) else "",
        at_iso=event.at.isoformat(),
        at_stamp=stamp(event.at),
        at_clock=clock(event.at),
        message=event.message,
    )
