"""The simulated clock of each process: reads within its reservation cost nothing, and a resume is shared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from market.services import RESERVE_WALL_SECONDS, SimulatedClock, market_reset, sim_state_get

WALL = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def simulated(settings, time_machine):
    settings.MARKET_DATA = "simulated"
    settings.SIM_SPEED = 60
    settings.EVALUATION_INTERVAL_SECONDS = 10
    time_machine.move_to(WALL, tick=False)
    market_reset()
    return time_machine


@pytest.mark.django_db(transaction=True)
def test_a_process_reads_its_reserved_time_without_the_database_and_follows_a_resume(simulated):
    sim_state_get()
    web, seen = SimulatedClock(), []
    seen.append(web.now())
    simulated.move_to(WALL + timedelta(seconds=RESERVE_WALL_SECONDS / 2), tick=False)
    with CaptureQueriesContext(connection) as queries:
        seen += [web.now() for _ in range(100)]
    assert len(queries) == 0 and seen[-1] - seen[0] == timedelta(minutes=5)  # 60x: 5 s of wall

    # Everything stops (the web process idles); the runner starts again half an hour later.
    simulated.move_to(WALL + timedelta(minutes=30), tick=False)
    runner = SimulatedClock()
    resumed = runner.now()
    assert resumed == sim_state_get().anchor_market > seen[-1]
    assert resumed - seen[-1] < timedelta(minutes=10)  # it stood still, not half a day of market time
    assert web.now() == resumed  # the idle process takes up the new anchor before it hands out a time
    simulated.move_to(WALL + timedelta(minutes=30, seconds=1), tick=False)
    assert web.now() == runner.now() == resumed + timedelta(minutes=1)
