"""Formatting for the dashboard: money, prices, signed numbers, scores, durations.

Kept here so every panel prints a number the same way, and templates stay
free of arithmetic. Plain functions: the template library
(``trading.templatetags.dashboard``) registers them as filters and tags, and
the presenters call them directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from bots.evaluator import Action, Confirmation, Temperature

DASH = "—"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def money(value: Any, places: int = 2) -> str:
    """1234.5 -> '1,234.50'; None -> a dash."""
    d = _decimal(value)
    if d is None:
        return DASH
    return f"{d:,.{int(places)}f}"


def signed(value: Any, places: int = 2) -> str:
    """A number with its sign always shown: +1.50, -0.25, 0.00."""
    d = _decimal(value)
    if d is None:
        return DASH
    text = f"{d:+,.{int(places)}f}"
    # Whatever rounds to zero is shown unsigned: "+0.000" would read as a gain.
    return text[1:] if text.strip("+-0.,") == "" else text


def price(value: Any) -> str:
    """A market price with as many decimals as its size calls for (BTC in cents, DOGE in 1e-5)."""
    d = _decimal(value)
    if d is None:
        return DASH
    magnitude = abs(d)
    places = 2 if magnitude >= 100 else 4 if magnitude >= 1 else 6
    return f"{d:,.{places}f}"


def size(value: Any) -> str:
    """A base size without trailing zeros: 0.00123000 -> '0.00123'."""
    d = _decimal(value)
    if d is None:
        return DASH
    if d.is_zero():
        return "0"
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def tone(value: Any) -> str:
    """The CSS class for a gain, a loss or nothing."""
    d = _decimal(value)
    if d is None or d.is_zero():
        return "flat"
    return "up" if d > 0 else "down"


def temperature_emoji(value: str) -> str:
    try:
        return Temperature(value).emoji
    except ValueError:
        return ""


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


def clock(value: datetime | None) -> str:
    """A market timestamp as HH:MM:SS (UTC)."""
    if value is None:
        return DASH
    return value.astimezone(UTC).strftime("%H:%M:%S")


def stamp(value: datetime | None) -> str:
    """A full market timestamp: 'Jan 11 14:05:00'."""
    if value is None:
        return DASH
    return value.astimezone(UTC).strftime("%b %d %H:%M:%S")


def percent(value: Any, places: int = 0) -> str:
    """0.4 -> '40%'."""
    d = _decimal(value)
    if d is None:
        return DASH
    return f"{d * 100:.{int(places)}f}%"


def _at(x: float) -> float:
    """Where a score sits on the -1..+1 gauge, in percent from the left."""
    return round((max(-1.0, min(1.0, x)) + 1) * 50, 2)


# Positions and widths are classes, not style attributes, so the pages pass a Content-Security-Policy
# without 'unsafe-inline' styles: half-percent steps, one rule each in static/dashboard/positions.css
# (written by positions_css(); a test keeps the file equal to it).
STEPS = 200


def _step(percent: float) -> int:
    """A percentage (0..100) as the nearest half-percent step (0..200)."""
    return round(max(0.0, min(100.0, float(percent))) * STEPS / 100)


def at_class(percent: float) -> str:
    """The class that puts an absolutely positioned element ``percent`` from the left."""
    return f"at-{_step(percent)}"


def width_class(fraction: Any) -> str:
    """The class that makes a bar ``fraction`` (0..1) of its track wide: 0.4 -> 'w-80'."""
    d = _decimal(fraction)
    return f"w-{_step(float(d or 0) * 100)}"


def positions_css() -> str:
    """The rules behind ``at_class`` and ``width_class`` (static/dashboard/positions.css)."""
    lines = ["/* Written by trading.formatting.positions_css(): half-percent positions and widths. */"]
    for n in range(STEPS + 1):
        value = f"{n * 100 / STEPS:g}%"
        lines.append(f".at-{n} {{ left: {value}; }} .w-{n} {{ width: {value}; }}")
    return "\n".join(lines) + "\n"


def score_gauge(score: float | None, buy_threshold: float, sell_threshold: float, scale: bool = False) -> SafeString:
    """A -1..+1 bar filled from the middle towards the score, both thresholds marked (and labelled).

    Built here rather than in an included template: it is drawn once per bot
    card on every poll, and this is several times cheaper.
    """
    buy_at, sell_at = _at(buy_threshold), _at(sell_threshold)
    parts = [
        format_html(
            '<div class="gauge" role="meter" aria-valuemin="-1" aria-valuemax="1"{}'
            ' title="score from -1 (sell) to +1 (buy); ticks at the sell and buy thresholds">'
            '<div class="gauge-track"></div><div class="gauge-mid"></div>'
            '<div class="gauge-tick sell {}"></div><div class="gauge-tick buy {}"></div>',
            format_html(' aria-valuenow="{}"', f"{score:.3f}") if score is not None else "",
            at_class(sell_at),
            at_class(buy_at),
        )
    ]
    if score is not None:
        low, high = sorted((50.0, _at(score)))
        side = "up" if score > 0 else "down" if score < 0 else "flat"
        parts.append(
            format_html(
                '<div class="gauge-fill {} {} {}"></div><div class="gauge-marker {}"></div>',
                side,
                at_class(low),
                f"w-{_step(high) - _step(low)}",
                at_class(_at(score)),
            )
        )
    parts.append("</div>")
    if scale:
        parts.append(
            format_html(
                '<div class="gauge-scale"><span class="at-0">-1</span><span class="{}">sell {}</span>'
                '<span class="at-100">0</span><span class="{}">buy +{}</span>'
                '<span class="at-200">+1</span></div>',
                at_class(sell_at),
                f"{sell_threshold:.2f}",
                at_class(buy_at),
                f"{buy_threshold:.2f}",
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - each part is a constant or built by format_html


def confirmation_progress(confirmation: Confirmation) -> SafeString:
    """The pending action, how much of its window it has held and the time left (or 'confirmed')."""
    action = confirmation.action.value
    if confirmation.action is Action.HOLD:
        return format_html('<span class="muted">nothing pending · window {}</span>', duration(confirmation.required))
    if confirmation.confirmed:
        return format_html('<span class="progress done"><span class="w-200"></span></span><b>{}</b> confirmed', action)
    return format_html(
        '<span class="progress {}"><span class="{}"></span></span><b>{}</b> {} · {} left',
        action,
        width_class(confirmation.progress),
        action,
        percent(confirmation.progress),
        duration(confirmation.remaining),
    )
