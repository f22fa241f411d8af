"""A qcluster reports a heartbeat while it evaluates and while it has nothing to do."""

from __future__ import annotations

import logging
import os
import threading

import pytest
from django.db import OperationalError

from market.models import Heartbeat
from trading import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_worker_state(monkeypatch):
    monkeypatch.setitem(tasks._worker, "beat_at", float("-inf"))
    monkeypatch.setitem(tasks._worker, "info", {"state": "idle"})
    monkeypatch.setitem(tasks._worker, "taken_at", 0.0)
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)


def test_an_idle_worker_beats_for_its_qcluster():
    tasks._beat_while_idle(rounds=1)
    beat = Heartbeat.objects.get(role="worker")
    assert beat.pid == os.getppid() and beat.info == {"state": "idle"}


def test_a_worker_that_just_beat_on_a_task_does_not_beat_again_while_idle():
    tasks._worker_heartbeat("2026-01-11T00:01:00+00:00", "ordered")
    first = Heartbeat.objects.get(role="worker")
    assert first.info["last_outcome"] == "ordered"
    tasks._beat_while_idle(rounds=1)
    again = Heartbeat.objects.get(role="worker")
    assert again.beat_at == first.beat_at  # no second write within the interval
    tasks._worker["beat_at"] = float("-inf")  # an interval later, still idle: it beats, keeping what it last did
    tasks._beat_while_idle(rounds=1)
    later = Heartbeat.objects.get(role="worker")
    assert later.beat_at > first.beat_at and later.info["last_outcome"] == "ordered"


@pytest.mark.django_db(transaction=True)  # the thread closes its connection, as it does outside any transaction
def test_a_database_outage_is_logged_once_and_the_beat_resumes(monkeypatch, caplog):
    import market.processes

    real = market.processes.heartbeat
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 3:
            raise OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(market.processes, "heartbeat", flaky)
    monkeypatch.setattr(tasks, "WORKER_IDLE_BEAT_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="trading.tasks"):
        tasks._beat_while_idle(rounds=5)
    failures = [r for r in caplog.records if "heartbeat failed" in r.message]
    assert len(failures) == 1 and "database is locked" in failures[0].message
    assert "recorded again" in caplog.text
    assert Heartbeat.objects.filter(role="worker").exists()


def test_django_q2_spawning_a_worker_starts_one_daemon_thread_that_beats(monkeypatch):
    from django_q.signals import post_spawn

    ran = threading.Event()
    monkeypatch.setattr(tasks, "_beat_while_idle", lambda: ran.set())
    monkeypatch.setattr(tasks.multiprocessing, "parent_process", lambda: object())  # as in a qcluster's child
    monkeypatch.delitem(tasks._worker, "thread_pid", raising=False)
    before = {t.ident for t in threading.enumerate()}
    post_spawn.send(sender="django_q", proc_name="Process-1")  # as django-q2's worker does on start
    assert ran.wait(5)
    started = [t for t in threading.enumerate() if t.ident not in before]
    assert all(t.daemon for t in started)  # never keeps a worker django-q2 stops alive
    ran.clear()
    post_spawn.send(sender="django_q", proc_name="Process-1")
    assert not ran.wait(0.2)  # one thread per process


def test_a_task_run_in_the_calling_process_starts_no_heartbeat_thread(monkeypatch):
    """django-q2's sync mode runs tasks in this process and sends post_spawn here: this is no worker."""
    from django_q.tasks import async_task

    monkeypatch.delitem(tasks._worker, "thread_pid", raising=False)
    before = {t.name for t in threading.enumerate()}
    assert "autotrader-worker-heartbeat" not in before
    async_task("math.floor", 2.5, sync=True)
    assert "autotrader-worker-heartbeat" not in {t.name for t in threading.enumerate()}
