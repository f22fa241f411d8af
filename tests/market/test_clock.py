from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine

from market.clock import ManualClock, ScaledClock, WallClock, unix_seconds

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_wall_clock_is_utc_and_follows_time_machine():
    with time_machine.travel(datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC), tick=False):
        now = WallClock().now()
    assert now == datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert now.utcoffset() == timedelta(0)


def test_scaled_clock_runs_speed_times_faster_than_the_wall():
    wall = [1_000.0]
    clock = ScaledClock(anchor_wall=1_000.0, anchor_sim=T0, speed=60, wall=lambda: wall[0])
    assert clock.now() == T0
    wall[0] += 1
    assert clock.now() == T0 + timedelta(minutes=1)
    wall[0] += 9.5
    assert clock.now() == T0 + timedelta(minutes=10, seconds=30)


def test_scaled_clock_at_speed_zero_stands_still():
    wall = [0.0]
    clock = ScaledClock(0.0, T0, 0, wall=lambda: wall[0])
    wall[0] = 3_600
    assert clock.now() == T0


def test_scaled_clock_defaults_to_the_real_wall_clock():
    with time_machine.travel(T0, tick=False):
        clock = ScaledClock(anchor_wall=T0.timestamp(), anchor_sim=T0, speed=2)
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        assert clock.now() == T0 + timedelta(seconds=10)


def test_scaled_clock_refuses_negative_speed_and_naive_anchor():
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(0.0, T0, -1)
    with pytest.raises(ValueError, match="anchor_sim must be timezone-aware"):
        ScaledClock(0.0, datetime(2025, 1, 1), 1)


def test_manual_clock_moves_only_when_told():
    clock = ManualClock(T0)
    assert clock.now() == T0
    assert clock.advance(timedelta(minutes=5)) == T0 + timedelta(minutes=5)
    assert clock.now() == T0 + timedelta(minutes=5)
    clock.set(T0 + timedelta(days=2))
    assert clock.now() == T0 + timedelta(days=2)


def test_manual_clock_converts_to_utc_and_refuses_naive_times():
    clock = ManualClock(datetime(2025, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == T0
    assert clock.now().tzinfo == UTC
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2025, 1, 1))


def test_unix_seconds_refuses_naive_datetimes():
    assert unix_seconds(T0) == 1_735_689_600
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        unix_seconds(datetime(2025, 1, 1), "end")
