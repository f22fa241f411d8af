"""Clocks: the one place market time comes from.

The decision core takes ``now`` as an argument; the shells ask a clock for it.
Live trading uses the wall clock, the simulated market a scaled clock shared
by every process, and tests and replays a clock they move by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current market time, timezone-aware, in UTC."""
        ...


def _require_aware(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC)


def unix_seconds(t: datetime, name: str = "time") -> float:
    """UNIX seconds of an aware datetime; a naive one is refused, not guessed as local time."""
    return _require_aware(t, name).timestamp()


class WallClock:
    """Real time. ``datetime.now`` is looked up per call so time-machine can move it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Market time running ``speed`` times faster than the wall clock from an anchor.

    At wall time ``anchor_wall`` (UNIX seconds) the market time is ``anchor_sim``;
    with ``speed`` 60 one market minute passes per wall second, with 0 time stands still.
    """

    def __init__(
        self, anchor_wall: float, anchor_sim: datetime, speed: float, wall: Callable[[], float] = time.time
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be zero or positive, got {speed}")
        self.anchor_wall = float(anchor_wall)
        self.anchor_sim = _require_aware(anchor_sim, "anchor_sim")
        self.speed = float(speed)
        self._wall = wall

    def now(self) -> datetime:
        elapsed = (self._wall() - self.anchor_wall) * self.speed
        return self.anchor_sim + timedelta(seconds=elapsed)


class OffsetClock:
    """Another clock's time shifted by a fixed amount (a replay placed on the simulated clock)."""

    def __init__(self, clock: Clock, offset: timedelta) -> None:
        self.clock = clock
        self.offset = offset

    def now(self) -> datetime:
        return self.clock.now() + self.offset


class ManualClock:
    """A clock that moves only when told to, for tests and replays."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def set(self, t: datetime) -> None:
        self._now = _require_aware(t, "t")

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        self._now += delta
        return self._now
