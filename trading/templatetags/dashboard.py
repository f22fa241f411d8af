"""Formatting for the dashboard: money, prices, signed numbers, scores, durations.

Kept here so every panel prints a number the same way, and templates stay
free of arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from bots.evaluator import Temperature

register = template.Library()
DASH = "—"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


@register.filter
def money(value: Any, places: int = 2) -> str:
    """1234.5 -> '1,234.50'; None -> a dash."""
    d = _decimal(value)
    if d is None:
        return DASH
    return f"{d:,.{int(places)}f}"


@register.filter
def signed(value: Any, places: int = 2) -> str:
    """A number with its sign always shown: +1.50, -0.25, 0.00."""
    d = _decimal(value)
    if d is None:
        return DASH
    text = f"{d:+,.{int(places)}f}"
    # Whatever rounds to zero is shown unsigned: "+0.000" would read as a gain.
    return text[1:] if text.strip("+-0.,") == "" else text


@register.filter
def price(value: Any) -> str:
    """A market price with as many decimals as its size calls for (BTC in cents, DOGE in 1e-5)."""
    d = _decimal(value)
    if d is None:
        return DASH
    magnitude = abs(d)
    places = 2 if magnitude >= 100 else 4 if magnitude >= 1 else 6
    return f"{d:,.{places}f}"


@register.filter
def size(value: Any) -> str:
    """A base size without trailing zeros: 0.00123000 -> '0.00123'."""
    d = _decimal(value)
    if d is None:
        return DASH
    if d.is_zero():
        return "0"
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def tone(value: Any) -> str:
    """The CSS class for a gain, a loss or nothing."""
    d = _decimal(value)
    if d is None or d.is_zero():
        return "flat"
    return "up" if d > 0 else "down"


@register.filter
def temperature_emoji(value: str) -> str:
    try:
        return Temperature(value).emoji
    except ValueError:
        return ""


@register.filter
def duration(value: timedelta | float | None) -> str:
    """Seconds or a timedelta as '2h 05m', '4m 10s', '12s'."""
    if value is None:
        return DASH
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else float(value))
    seconds = max(seconds, 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@register.filter
def clock(value: datetime | None) -> str:
    """A market timestamp as HH:MM:SS (UTC)."""
    if value is None:
        return DASH
    return value.astimezone(UTC).strftime("%H:%M:%S")


@register.filter
def stamp(value: datetime | None) -> str:
    """A full market timestamp: 'Jan 11 14:05:00'."""
    if value is None:
        return DASH
    return value.astimezone(UTC).strftime("%b %d %H:%M:%S")


@register.filter
def percent(value: Any, places: int = 0) -> str:
    """0.4 -> '40%'."""
    d = _decimal(value)
    if d is None:
        return DASH
    return f"{d * 100:.{int(places)}f}%"


@register.inclusion_tag("trading/score_gauge.html")
def score_gauge(score: float | None, buy_threshold: float, sell_threshold: float) -> dict[str, Any]:
    """A -1..+1 bar: filled from the middle towards the score, with both thresholds marked."""

    def left(x: float) -> float:
        return round((max(-1.0, min(1.0, x)) + 1) * 50, 2)

    if score is None:
        return {"known": False, "buy_at": left(buy_threshold), "sell_at": left(sell_threshold)}
    fill_from, fill_to = sorted((left(0.0), left(score)))
    return {
        "known": True,
        "score": score,
        "fill_left": fill_from,
        "fill_width": round(fill_to - fill_from, 2),
        "marker": left(score),
        "side": "up" if score > 0 else "down" if score < 0 else "flat",
        "buy_at": left(buy_threshold),
        "sell_at": left(sell_threshold),
    }
