"""A stuck task queue is told from a busy or idle one; a cluster is replaced only when that is safe."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from market.models import Heartbeat
from market.processes import heartbeat
from trading import tasks
from trading.selectors import task_queue_state
from trading.workers import EXIT_UNSAFE_DEATH, guarded_sentinel, queue_stuck


def test_tasks_that_wait_while_no_worker_takes_any_are_stuck():
    reason = queue_stuck(queued=12, waited=95, idle=100, limit=60)
    assert reason == (
        "12 tasks queued, the oldest for 95 s, and no worker has taken a task for 100 s (Q_STUCK_SECONDS=60)"
    )
    assert queue_stuck(queued=1, waited=None, idle=None, limit=60).startswith("1 task queued, and no worker")


@pytest.mark.parametrize(
    ("queued", "waited", "idle"),
    [
        (0, None, None),  # idle: nothing waits
        (None, None, None),  # the broker did not answer: unknown, not stuck
        (5, 10, 500),  # the oldest task came in just now
        (5, 500, 10),  # a worker took one just now: busy, not stuck
    ],
)
def test_an_idle_a_fresh_or_a_busy_queue_is_not_stuck(queued, waited, idle):
    assert queue_stuck(queued=queued, waited=waited, idle=idle, limit=60) == ""


# --- the health views ------------------------------------------------------------
@pytest.fixture
def old_task(db, settings):
    """A task enqueued 10 minutes ago that no worker took (the broker the suite runs on: ORM or Redis)."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    settings.Q_STUCK_SECONDS = 60
    broker = get_broker()
    task = {"id": "x", "name": "stuck-task", "func": "math.sqrt", "args": (4,), "kwargs": {}}
    broker.enqueue(SignedPackage.dumps({**task, "started": timezone.now() - timedelta(minutes=10)}))
    yield broker
    broker.purge_queue()


def test_the_health_views_say_a_queue_no_worker_takes_from_is_stuck(old_task, admin_client):
    heartbeat("worker", {"taken_at": (timezone.now() - timedelta(minutes=5)).isoformat()}, pid=4242)
    state = task_queue_state()
    assert state.state == "stuck" and state.queued == 1
    assert "the oldest for 600 s" in state.stuck and "no worker has taken a task for 300 s" in state.stuck
    assert state.stuck.startswith("no worker cluster is running")  # and none is, here

    html = admin_client.get(reverse("dashboard:health_panel")).content.decode()
    assert "<b>Stuck</b>: no worker cluster is running" in html
    body = admin_client.get("/api/v1/system/health").json()["task_queue"]
    assert body["state"] == "stuck" and "no worker has taken a task" in body["stuck"]
    assert body["oldest_queued_at"] and body["last_taken_at"]


def test_a_queue_whose_workers_take_tasks_is_not_stuck(old_task):
    heartbeat("worker", {"taken_at": (timezone.now() - timedelta(seconds=5)).isoformat()}, pid=4242)
    state = task_queue_state()
    assert state.state == "ok" and state.stuck == "" and state.queued == 1


@pytest.mark.django_db
def test_a_worker_reports_when_it_last_took_a_task(monkeypatch):
    monkeypatch.setitem(tasks._worker, "beat_at", float("-inf"))
    monkeypatch.setitem(tasks._worker, "taken_at", 0.0)
    monkeypatch.setattr(tasks, "_taken_clock", SimpleNamespace(value=0.0))
    tasks.task_taken(sender="django_q", task={})
    assert tasks._taken_clock.value == tasks._worker["taken_at"] > 0  # the clock runworkers watches
    tasks._beat_if_due(0)
    taken_at = Heartbeat.objects.get(role="worker").info["taken_at"]
    assert abs(datetime.fromisoformat(taken_at) - timezone.now()) < timedelta(seconds=5)


# --- the guard ----------------------------------------------------------------------
class FakeProcess:
    def __init__(self, name: str, *, timer: float = -1, exitcode: int | None = -9) -> None:
        self.name, self.timer, self.exitcode = name, SimpleNamespace(value=timer), exitcode
        self.killed = False

    def is_alive(self) -> bool:
        return self.exitcode is None and not self.killed

    def kill(self) -> None:
        self.killed = True


class FakeSentinel:
    """django-q2's Sentinel as far as reincarnate() goes: it records what it replaced."""

    def __init__(self) -> None:
        self.replaced: list[str] = []

    def reincarnate(self, process: FakeProcess) -> None:
        self.replaced.append(process.name)


@pytest.fixture
def guard(monkeypatch):
    def exit_(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr("trading.workers.os._exit", exit_)
    sentinel = guarded_sentinel(FakeSentinel)()
    sentinel.pool = [FakeProcess("busy", timer=57.5), FakeProcess("idle"), FakeProcess("alive", exitcode=None)]
    sentinel.monitor, sentinel.pusher = FakeProcess("monitor", exitcode=None), FakeProcess("pusher", exitcode=0)
    return sentinel


def test_the_guard_replaces_in_place_a_worker_killed_busy_and_a_pusher_that_ended_itself(guard):
    guard.reincarnate(guard.pool[0])
    guard.reincarnate(guard.pusher)  # django-q2's pusher exits by itself after a broker failure
    assert guard.replaced == ["busy", "pusher"]


@pytest.mark.parametrize("who", ["idle", "monitor"])
def test_the_guard_ends_its_cluster_when_a_process_that_may_hold_a_queue_lock_is_killed(guard, who):
    victim = guard.pool[1] if who == "idle" else guard.monitor
    victim.exitcode = -9
    with pytest.raises(SystemExit) as ended:
        guard.reincarnate(victim)
    assert ended.value.code == EXIT_UNSAFE_DEATH and guard.replaced == []
    assert guard.pool[2].killed  # the rest of the cluster goes with it
