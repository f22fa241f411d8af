"""Control and state of the market stream (``manage.py market_stream``).

The desired state is a row (``StreamControl``) that the API and dashboard
switch; the stream process reads it and reports its own state through a
``stream`` heartbeat (connected, last message, reconnects, products).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from market.models import StreamControl

STREAM_ROLE = "stream"
STALE_SECONDS = 60


def stream_control() -> StreamControl:
    control, _ = StreamControl.objects.get_or_create(pk=1)
    return control


def stream_set_enabled(*, enabled: bool, at: datetime | None = None) -> StreamControl:
    """Ask the stream process to run (True) or to disconnect and idle (False)."""
    control = stream_control()
    control.enabled = enabled
    control.changed_at = at or timezone.now()
    control.save(update_fields=["enabled", "changed_at"])
    return control


def stream_status() -> dict[str, Any]:
    """The stream as the API and the health page show it."""
    from trading.models import Heartbeat

    control = stream_control()
    beat = Heartbeat.objects.filter(role=STREAM_ROLE).order_by("-beat_at").first()
    now = timezone.now()
    alive = beat is not None and (now - beat.beat_at).total_seconds() < STALE_SECONDS
    info = beat.info if beat else {}
    return {
        "enabled": control.enabled,
        "process_alive": alive,
        "process": beat.name if beat else None,
        "last_heartbeat": beat.beat_at if beat else None,
        "connected": bool(alive and info.get("connected")),
        "source": info.get("source"),
        "products": info.get("products", []),
        "last_message_at": info.get("last_message_at"),
        "messages": info.get("messages", 0),
        "reconnects": info.get("reconnects", 0),
        "last_error": info.get("last_error", ""),
    }
