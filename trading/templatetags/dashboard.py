"""The dashboard's template library: trading.formatting's functions as filters and tags, and the fragment lists."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from trading import formatting
from trading.fragments import activity_rows_html, bot_cards_html

register = template.Library()
for _name in (
    "money",
    "signed",
    "price",
    "size",
    "tone",
    "temperature_emoji",
    "duration",
    "clock",
    "stamp",
    "percent",
    "width_class",
):
    register.filter(_name, getattr(formatting, _name))
for _name in ("score_gauge", "confirmation_progress"):
    register.simple_tag(getattr(formatting, _name), name=_name)


@register.simple_tag(takes_context=True)
def bot_card_list(context: template.Context, cards: list) -> SafeString:
    """Every bot card (trading.fragments: each rendered once per distinct state, per process)."""
    return bot_cards_html(cards, csrf_token=str(context.get("csrf_token", "")))


@register.simple_tag
def activity_row_list(rows: list) -> SafeString:
    """The activity feed's rows (trading.fragments: each rendered once per process)."""
    return activity_rows_html(rows)
