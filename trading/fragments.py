"""Rendered pieces of the live panels, cached by exactly what they show.

Every open dashboard redraws every bot card and the activity feed every 5 s,
and between two ticks almost nothing on them changes. Each card and each feed
row is rendered from a frozen view (``trading.presenters``) that holds every
value its template prints, so the view itself is the cache key: an equal view
renders equal HTML, and a changed value is a new key. Nothing is ever
invalidated, nothing can go stale, and the caches are per process (bounded
LRU), so they need no shared store.

Two values of a card change more often than the rest: the CSRF token of its
start/stop form (per request) and the confirmation's time remaining (every
second while a signal waits). They are rendered as slots, markup that no
escaped value can contain, and filled in after, so a countdown does not make
the whole card a new key every second.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from trading.presenters import ActivityRow, BotCardView

# "<" is escaped in every value a template prints, so only the template itself can write these.
CSRF_SLOT = mark_safe("<csrf-slot>")
CONFIRMATION_SLOT = mark_safe("<confirmation-slot>")
CARD_CACHE_SIZE = 4096
ROW_CACHE_SIZE = 4096


@lru_cache(maxsize=CARD_CACHE_SIZE)
def _card(view: BotCardView, script_prefix: str) -> str:
    context = {
        "c": view,
        "confirmation": CONFIRMATION_SLOT,  # not part of the view: presenters.card_confirmation
        "csrf_token": CSRF_SLOT,
        "overview_url": reverse("dashboard:overview"),
    }
    return render_to_string("trading/bot_card.html", context)


@lru_cache(maxsize=ROW_CACHE_SIZE)
def _row(row: ActivityRow) -> str:
    return render_to_string("trading/activity_row.html", {"event": row})


def bot_cards_html(cards: Iterable[tuple[BotCardView, SafeString]], *, csrf_token: str) -> SafeString:
    """Every card, in order, each with its countdown, and this request's CSRF token in each form."""
    prefix = get_script_prefix()
    html = "".join(_card(view, prefix).replace(CONFIRMATION_SLOT, confirmation) for view, confirmation in cards)
    # confirmation is SafeString built by format_html; the token is escaped (it never needs it).
    return mark_safe(html.replace(CSRF_SLOT, escape(csrf_token)))  # noqa: S308 - rendered with autoescape


def activity_rows_html(rows: Iterable[ActivityRow]) -> SafeString:
    """The feed's rows, in order."""
    return mark_safe("".join(_row(row) for row in rows))  # noqa: S308 - rendered with autoescape


def cache_info() -> dict[str, object]:
    """Hits, misses and sizes of both caches (the tests read them)."""
    return {"cards": _card.cache_info(), "rows": _row.cache_info()}


def cache_clear() -> None:
    _card.cache_clear()
    _row.cache_clear()
