"""The ticker through its dependencies' failures (in-process: the failures are injected).

The database unavailable or locked: the ticker cannot claim its lease, so it
does nothing, says so in its log, drops the broken connection and tries again
each interval. A tick that fails (the task broker unreachable, say) is
reported on the heartbeat each time and in the activity feed once per
outage; the recovery is recorded too.
"""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from bots.models import ActivityEvent
from market.models import Heartbeat
from trading import runner as runner_module
from trading.runner import Runner


@pytest.mark.django_db(transaction=True)  # the ticker closes the broken connection, as it must in production
@pytest.mark.parametrize("message", ["server closed the connection unexpectedly", "database is locked"])
def test_ticker_waits_out_the_database_and_resumes(make_bot, market, wallet, monkeypatch, caplog, message):
    make_bot(score=0.0)
    real_claim = runner_module.lease_claim
    calls = []

    def claim(*args):
        calls.append(args)
        if len(calls) <= 3:
            raise OperationalError(message)
        return real_claim(*args)

    monkeypatch.setattr(runner_module, "lease_claim", claim)
    runner = Runner(market=market, exchange_for=lambda bot: wallet, owner="me")
    assert runner.run(interval=0.01, stop=threading.Event(), max_ticks=2) == 2
    assert len(calls) == 5
    assert caplog.text.count("the database is unavailable") == 3
    assert ActivityEvent.objects.filter(kind="system", message="ticker me: ticking again after 3 failed ticks").exists()
    assert Heartbeat.objects.get(role="ticker").info["lease"] is True


@pytest.mark.django_db
def test_failed_ticks_are_reported_once_and_the_recovery_too(make_bot, market, wallet, monkeypatch, caplog):
    make_bot(score=0.0)
    runner = Runner(market=market, exchange_for=lambda bot: wallet, owner="me")
    real_tick = runner.tick
    beats = []

    def tick():
        beats.append(Heartbeat.objects.filter(role="ticker").values_list("info", flat=True).first())
        if len(beats) <= 3:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return real_tick()

    monkeypatch.setattr(runner, "tick", tick)
    assert runner.run(interval=0.01, stop=threading.Event(), max_ticks=5) == 5
    assert beats[3] == {
        "lease": True,
        "error": "ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.",
        "failed_ticks": 3,
    }
    failed = ActivityEvent.objects.filter(kind="system", level="error")
    assert [e.message for e in failed] == [
        "ticker me: tick failed (ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.); "
        "retrying every 0.01 s"
    ]
    assert ActivityEvent.objects.filter(message="ticker me: ticking again after 3 failed ticks").exists()
    assert caplog.text.count("Traceback") == 1  # one traceback per outage, then one line per failed tick
    assert "tick failed again (3 in a row)" in caplog.text
    assert "error" not in Heartbeat.objects.get(role="ticker").info
