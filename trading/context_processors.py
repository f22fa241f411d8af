"""Template context every page needs: paper or live, and the kill switch."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest


def trading_mode(request: HttpRequest) -> dict:
    """The kill switch is read only by a template that shows it (the page frame, the status bar).

    Most live partials never print it: as callables (templates call them), the row is read
    once when a template first asks, and never by the others' polls.
    """
    from trading.models import KillSwitch

    @cache
    def switch() -> KillSwitch | None:
        return KillSwitch.objects.filter(pk=1).first()

    return {
        "trading_mode": settings.TRADING_MODE,
        "market_data_source": settings.MARKET_DATA,
        "kill_switch_engaged": lambda: bool(switch() and switch().engaged),
        "kill_switch_reason": lambda: switch().reason if switch() else "",
    }
