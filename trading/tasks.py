"""Background housekeeping run by django-q2 (``qcluster``).

Tasks are thin and idempotent: each may run twice (at-least-once delivery).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django_q.models import Schedule

from bots.models import Bot
from bots.selectors import stuck_confirmations
from bots.services import activity_record, bot_reset_confirmation, bot_start
from market.services import get_market_data
from trading.risk import SkipCode
from trading.services import day_start

log = logging.getLogger(__name__)

# Workers report a heartbeat as they evaluate, at most this often (one row write,
# not one per task): status.sh and the health page list it with the ticker. An idle
# worker beats too, from a thread started when django-q2 spawns it, so a qcluster
# that has had nothing to do is still listed (a heartbeat is stale after 60 s).
WORKER_BEAT_SECONDS = 5.0
WORKER_IDLE_BEAT_SECONDS = 15.0
_worker: dict = {"beat_at": float("-inf"), "info": {"state": "idle"}, "taken_at": 0.0}
_beat_lock = threading.Lock()

# When a worker last took a task (wall clock), shared by every worker of a cluster that
# ``runworkers`` supervises (it creates it before forking the cluster): its watchdog reads it,
# and each worker's heartbeat reports the cluster's newest (``taken_at``), so the health
# views can tell a stuck queue from a slow one. A RawValue, not a Value: a worker killed
# while holding a Value's lock would block every other reader forever.
_taken_clock: Any = None
# The heartbeat is per qcluster; under ``runworkers`` it is that process's (it outlives the
# clusters it replaces), otherwise the workers' parent (django-q2's guard).
CLUSTER_PID_ENV = "AUTOTRADER_QCLUSTER_PID"

SCHEDULES = {
    "clear stale confirmations": ("trading.tasks.confirmations_clear_stale", 5),
    "daily counters": ("trading.tasks.daily_reset", 5),
}


def evaluate_bot(bot_id: int, market_time: str) -> str:
    """Evaluate one bot at the tick's market time (see ``evaluate_bots``)."""
    return evaluate_bots([bot_id], market_time)[bot_id]


def evaluate_bots(bot_ids: list[int], market_time: str) -> dict[int, str]:
    """Evaluate a batch of bots at the tick's market time (enqueued by the ticker in queue mode).

    Safe to run twice: each bot's lease stops a concurrent run, and the
    decision key (bot and market time) stops a second order for one decision.
    A task that arrives long after its tick is dropped rather than trading on
    an old decision time. A batch reads the bots' rows once (a tick context),
    which is what makes hundreds of bots per tick affordable.
    """
    from django.conf import settings

    from market.processes import process_name
    from market.services import exchange_for
    from trading.engine import TickContext, bot_tick

    market = get_market_data()
    at = datetime.fromisoformat(market_time)
    late = market.now() - at
    allowed = timedelta(seconds=settings.EVALUATION_INTERVAL_SECONDS * 3 * max(1.0, settings.SIM_SPEED))
    if settings.MARKET_DATA != "simulated":
        allowed = timedelta(seconds=settings.EVALUATION_INTERVAL_SECONDS * 3)
    outcomes: dict[int, str] = {}
    if late > allowed:
        log.warning("dropping evaluation of bots %s for %s: %s late", bot_ids, market_time, late)
        outcomes = dict.fromkeys(bot_ids, "stale")
    else:
        context = TickContext.load(bot_ids=list(bot_ids), now=at)
        owner = process_name("worker")
        for bot_id in bot_ids:
            outcomes[bot_id] = bot_tick(
                bot_id, market=market, exchange_for=exchange_for, now=at, owner=owner, context=context
            ).outcome
    for outcome in outcomes.values():
        _worker_heartbeat(market_time, outcome)
    return outcomes


def _worker_heartbeat(market_time: str, outcome: str) -> None:
    """One heartbeat per qcluster: it is the workers' parent, and outlives the workers django-q2 recycles."""
    _worker["info"] = {"market_time": market_time, "last_outcome": outcome, "worker_pid": os.getpid()}
    _beat_if_due(WORKER_BEAT_SECONDS)


def share_taken_clock() -> Any:
    """Create the clock every worker of the next clusters writes when it takes a task (``runworkers``)."""
    global _taken_clock
    _taken_clock = multiprocessing.RawValue("d", 0.0)
    return _taken_clock


def task_taken(sender: object, **kwargs: object) -> None:
    """django-q2's ``pre_execute``, in the worker about to run a task: note the time (no I/O)."""
    now = time.time()
    _worker["taken_at"] = now
    if _taken_clock is not None:
        _taken_clock.value = now


def last_taken() -> float:
    """When a worker of this cluster (or this process) last took a task; 0.0 if never."""
    shared = _taken_clock.value if _taken_clock is not None else 0.0
    return max(_worker["taken_at"], shared)


def _beat_if_due(every: float) -> None:
    from market.processes import heartbeat

    with _beat_lock:  # the task and the idle thread share one row and one clock
        if time.monotonic() - _worker["beat_at"] < every:
            return
        _worker["beat_at"] = time.monotonic()
        info = dict(_worker["info"])
        if taken := last_taken():
            info["taken_at"] = datetime.fromtimestamp(taken, UTC).isoformat()
        heartbeat("worker", info, pid=int(os.environ.get(CLUSTER_PID_ENV) or os.getppid()))


def worker_spawned(sender: object, proc_name: str = "", **kwargs: object) -> None:
    """django-q2's ``post_spawn``, in each new worker process: beat while idle, as long as it lives.

    django-q2 also sends it from the calling process when it runs a task there
    (``sync`` mode, as the tests do): that process is no qcluster worker, so it
    starts nothing. One thread per process, however often the signal comes.
    """
    if multiprocessing.parent_process() is None:
        return
    with _beat_lock:
        if _worker.get("thread_pid") == os.getpid():
            return
        _worker["thread_pid"] = os.getpid()
    threading.Thread(target=_beat_while_idle, name="autotrader-worker-heartbeat", daemon=True).start()


def _beat_while_idle(*, rounds: int | None = None) -> None:
    """Beat whenever no task has for ``WORKER_IDLE_BEAT_SECONDS``; survive the database going away."""
    from django.db import connection

    failing = False
    while rounds is None or rounds > 0:
        try:
            _beat_if_due(WORKER_IDLE_BEAT_SECONDS)
            if failing:
                log.info("worker heartbeat recorded again")
            failing = False
        except Exception as exc:  # the database is down or locked: say so once, try again later
            if not failing:
                log.warning("worker heartbeat failed (%s); retrying every %g s", exc, WORKER_IDLE_BEAT_SECONDS)
            failing = True
            connection.close()  # this thread's connection: the next try opens a fresh one
        if rounds is not None:
            rounds -= 1
            if rounds == 0:
                return
        time.sleep(WORKER_IDLE_BEAT_SECONDS)


def confirmations_clear_stale() -> int:
    """Clear confirmations stuck on an action no live evaluation still signals."""
    now = get_market_data().now()
    stuck = stuck_confirmations(now=now)
    for lock in stuck:
        bot_reset_confirmation(bot=lock.bot, at=now, why=lock.why)
    return len(stuck)


def daily_reset() -> int:
    """At a new market day, resume bots that the daily loss limit paused yesterday.

    Trade counts and realised P&L are per market day by construction (they
    are counted from the day's trades), so only the pauses need undoing.
    """
    now = get_market_data().now()
    resumed = 0
    for bot in Bot.objects.filter(
        status=Bot.Status.PAUSED, pause_code=SkipCode.DAILY_LOSS.value, paused_at__lt=day_start(now)
    ):
        bot_start(bot=bot, at=now)
        activity_record(kind="state", bot=bot, at=now, message=f"{bot.name}: new day, daily loss limit lifted")
        resumed += 1
    return resumed


def housekeeping_schedule() -> None:
    """Create or update the django-q2 schedules (idempotent)."""
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
        )
