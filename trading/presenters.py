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

from bots.models import ActivityEvent, Bot
from bots.selectors import confirmation_at
from market.types import order_mode
from trading.formatting import (
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
from trading.selectors import BotCard


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


def bot_card_view(card: BotCard, *, trading_mode: str) -> BotCardView:
    """Everything a card prints but the countdown (``card_confirmation``), formatted once per distinct card."""
    return _card_view(card, trading_mode, get_script_prefix())


def card_confirmation(card: BotCard, *, now: datetime) -> SafeString:
    """The pending action's progress and time left as of ``now``: it changes every second, the card does not."""
    return confirmation_progress(
        confirmation_at(
            action=card.confirmation_action,
            since=card.confirmation_since,
            minutes=card.confirmation_minutes,
            now=now,
        )
    )


@lru_cache(maxsize=4096)  # script_prefix: the URLs are part of the view
def _card_view(card: BotCard, trading_mode: str, script_prefix: str) -> BotCardView:
    running = card.status == Bot.Status.RUNNING
    held = bool(card.base_size)
    traded = card.trade_executed_at is not None
    unrealised = card.unrealised_pnl
    return BotCardView(
        pk=card.pk,
        name=card.name,
        product_id=card.product_id,
        granularity=card.granularity,
        status=card.status,
        status_label=Bot.Status(card.status).label,
        paused_reason=card.paused_reason,
        running=running,
        live=order_mode(live_switch=card.live, trading_mode=trading_mode) == "live",
        paper_note="live switch on, but TRADING_MODE=paper" if card.live else "paper trading",
        price=price(card.last_price),
        temperature=card.last_temperature,
        emoji=temperature_emoji(card.last_temperature),
        score=signed(card.last_score, 3),
        score_tone=tone(card.last_score),
        gauge=score_gauge(card.last_score, card.buy_threshold, card.sell_threshold),
        action=card.last_action,
        position=f"{size(card.base_size)} @ {price(card.average_entry)}" if held else "",
        unrealised=signed(unrealised),
        unrealised_tone=tone(unrealised),
        trade_side=card.trade_side if traded else "",
        trade=f"{size(card.trade_size)} @ {price(card.trade_price)}" if traded else "",
        trade_time=clock(card.trade_executed_at) if traded else "",
        trade_stamp=stamp(card.trade_executed_at) if traded else "",
        skip=card.last_skip_reason,
        evaluated=clock(card.last_evaluated_at),
        detail_url=reverse("dashboard:bot_detail", args=[card.pk]),
        control_url=reverse("dashboard:bot_stop" if running else "dashboard:bot_start", args=[card.pk]),
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
