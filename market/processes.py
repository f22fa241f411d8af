"""Which process this is, and its heartbeat: the market stream, the ticker and the workers beat here.

Lives in the lowest layer because the market stream (market) and the ticker and
workers (trading) all report through it; the health page reads the rows.
"""

from __future__ import annotations

import os
import socket

from django.utils import timezone

from market.models import Heartbeat


def process_name(role: str) -> str:
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def heartbeat(role: str, info: dict, *, pid: int | None = None) -> None:
    """Record that a process (``pid``, this one by default) is alive, with what it reports."""
    pid = pid or os.getpid()
    Heartbeat.objects.update_or_create(
        name=f"{role}@{socket.gethostname()}:{pid}",
        defaults={
            "role": role,
            "host": socket.gethostname(),
            "pid": pid,
            "beat_at": timezone.now(),
            "info": info,
        },
    )
