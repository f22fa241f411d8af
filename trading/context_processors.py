"""Template context every page needs: paper or live, and the kill switch."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def trading_mode(request: HttpRequest) -> dict:
    from trading.models import KillSwitch

    switch = KillSwitch.objects.filter(pk=1).first()
    return {
        "trading_mode": settings.TRADING_MODE,
        "market_data_source": settings.MARKET_DATA,
        "kill_switch_engaged": bool(switch and switch.engaged),
        "kill_switch_reason": switch.reason if switch else "",
    }
