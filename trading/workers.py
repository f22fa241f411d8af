"""``manage.py runworkers``: django-q2's cluster, replaced when it breaks instead of left wedged.

Why. django-q2's pusher, workers and monitor share ``multiprocessing`` queues whose locks
are plain semaphores. A worker waiting for a task holds the task queue's read lock, the
monitor holds the result queue's. Killed (SIGKILL, the OOM killer), such a process never
releases it: the guard "reincarnates" it, the new process blocks on the lock forever, the
cluster still reports "Working", and no task is taken again. Stopping hangs as well, the
guard waiting for a pusher blocked on the full queue (django-q2 issue #23; django-q #394,
#200). A killed guard or parent leaves its children running, unseen.

So this process runs the cluster and:

- lets the guard reincarnate in place only a worker that died *busy* (it holds no lock of
  the queues), or one that timed out or was recycled (django-q2's own cases); any other
  death (an idle worker, the monitor, the pusher) ends the whole cluster, and a new one
  with new queues starts here at once;
- restarts the cluster when tasks have waited ``Q_STUCK_SECONDS`` and none of its workers
  has taken one for as long, whatever wedged it (``queue_stuck``, which the health views
  use too);
- makes every process of the cluster die with the process that forked it
  (``PR_SET_PDEATHSIG``), so killing this process or the guard leaves no orphan;
- on SIGTERM or SIGINT stops the cluster gracefully for at most ``STOP_SECONDS``, then
  kills whatever is left of it, and exits.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

log = logging.getLogger("trading.workers")

STOP_SECONDS = 20.0  # a graceful stop lets running tasks end; an evaluation takes seconds
CHECK_SECONDS = 1.0
RESTART_BACKOFF_MAX_SECONDS = 30.0
EXIT_UNSAFE_DEATH = 3  # the guard's exit code when it ends the cluster after a death
PR_SET_PDEATHSIG = 1


def queue_stuck(*, queued: int | None, waited: float | None, idle: float | None, limit: float) -> str:
    """Why the task queue is stuck, or "": tasks wait and no worker has taken one for ``limit`` seconds.

    ``waited`` is how long the oldest queued task has waited (None: unknown), ``idle`` the
    seconds since a worker last took a task (None: never). A queue whose workers take
    tasks is busy, not stuck; an empty one is idle.
    """
    if not queued:
        return ""
    if waited is not None and waited < limit:
        return ""
    if idle is not None and idle < limit:
        return ""
    oldest = "" if waited is None else f", the oldest for {waited:.0f} s"
    taken = "no worker has taken a task" if idle is None else f"no worker has taken a task for {idle:.0f} s"
    return f"{queued} task{'s' if queued != 1 else ''} queued{oldest}, and {taken} (Q_STUCK_SECONDS={limit:g})"


# --- every process of the cluster dies with its parent ---------------------------
_forked_by = 0
_installed = False


def _before_fork() -> None:
    global _forked_by
    _forked_by = os.getpid()


def _die_with_parent() -> None:
    """In a new child: be SIGKILLed when the process that forked it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != _forked_by:  # the parent died before prctl: nothing will signal us
        os._exit(1)


def die_with_parent_after_fork() -> None:
    """From now on every process forked here (and, inherited, in its children) dies with its parent."""
    global _installed
    if _installed or not sys.platform.startswith("linux"):
        return
    os.register_at_fork(before=_before_fork, after_in_child=_die_with_parent)
    _installed = True


def descendants(root: int) -> list[int]:
    """Every living process below ``root`` (children first), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- the guard: reincarnate only what is safe ------------------------------------
def guarded_sentinel(base: type) -> type:
    """django-q2's Sentinel (the guard) that ends its cluster on a death it cannot repair safely."""

    class GuardedSentinel(base):  # type: ignore[misc, valid-type]
        def reincarnate(self, process: Any) -> None:
            if process.exitcode == 0 or (process in self.pool and process.timer.value != -1):
                # It ended by itself (the pusher does when the broker fails), or the worker was
                # busy (> 0), timed out (0) or recycled (-2): it held no lock of the queues.
                return super().reincarnate(process)
            role = "monitor" if process is self.monitor else "pusher" if process is self.pusher else "idle worker"
            log.critical(
                "the %s %s died (exit code %s): it may hold a lock of the cluster's queues, which would "
                "wedge every process started in its place; ending this cluster for a new one",
                role,
                process.name,
                process.exitcode,
            )
            for other in [*self.pool, self.monitor, self.pusher]:
                if other is not None and other.is_alive():
                    other.kill()
            os._exit(EXIT_UNSAFE_DEATH)

    GuardedSentinel.__name__ = GuardedSentinel.__qualname__ = "GuardedSentinel"
    return GuardedSentinel


# --- the supervisor --------------------------------------------------------------
class WorkerSupervisor:
    """Runs one django-q2 cluster at a time in this process and replaces it when it breaks."""

    def __init__(self, *, stuck_seconds: float, check_seconds: float = CHECK_SECONDS) -> None:
        self.stuck_seconds = stuck_seconds
        self.check_seconds = check_seconds
        self.stopping = threading.Event()
        self.restarts = 0

    def run(self) -> int:
        """Until SIGTERM/SIGINT: start a cluster, watch it, replace it when it dies or sticks."""
        import django_q.cluster
        from django import db

        from trading import tasks

        die_with_parent_after_fork()
        os.environ[tasks.CLUSTER_PID_ENV] = str(os.getpid())
        if not getattr(django_q.cluster.Sentinel, "_autotrader_guarded", False):
            django_q.cluster.Sentinel = guarded_sentinel(django_q.cluster.Sentinel)
            django_q.cluster.Sentinel._autotrader_guarded = True
        taken = tasks.share_taken_clock()
        failures = 0
        while not self.stopping.is_set():
            db.connections.close_all()  # the guard is forked from here: it must not share a connection
            cluster = django_q.cluster.Cluster()
            self._handle_signals()  # Cluster() installed handlers that wait for a guard that may never end
            started = time.time()
            try:
                cluster.start()
            except RuntimeError as exc:  # the guard could not start (the broker is down)
                log.error("the worker cluster did not start: %s", exc)
                reason = str(exc)
            else:
                reason = self._watch(cluster, started, taken)
            if self.stopping.is_set():
                self._stop(cluster)
                break
            self._kill(cluster)
            self.restarts += 1
            failures = failures + 1 if time.time() - started < 60 else 1
            wait = min(RESTART_BACKOFF_MAX_SECONDS, 0.5 * 2 ** (failures - 1))
            log.critical("restarting the worker cluster in %.1f s: %s", wait, reason)
            self._record(f"worker cluster restarted: {reason}")
            self.stopping.wait(wait)
        log.info("runworkers stopped")
        return 0

    def _handle_signals(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())

    def _watch(self, cluster: Any, started: float, taken: Any) -> str:
        """Wait until a stop is asked (""), the guard dies, or the queue is stuck: why it must go."""
        from django_q.brokers import get_broker

        broker = get_broker()
        waiting_since: float | None = None
        while not self.stopping.wait(self.check_seconds):
            if not cluster.sentinel.is_alive():
                if cluster.sentinel.exitcode == EXIT_UNSAFE_DEATH:
                    return "one of its processes died while it could hold a lock of the cluster's queues"
                return f"its guard exited (code {cluster.sentinel.exitcode})"
            try:
                # Waiting in the broker, and in the cluster's own queue (pulled, not yet taken),
                # which the guard saves with its status every cycle.
                queued = broker.queue_size() + int(getattr(cluster.stat, "task_q_size", 0) or 0)
            except Exception:  # the broker is down: nothing can be taken, which is no wedge
                waiting_since = None
                continue
            now = time.time()
            waiting_since = (waiting_since or now) if queued else None
            reason = queue_stuck(
                queued=queued,
                waited=None if waiting_since is None else now - waiting_since,
                idle=now - max(taken.value, started),
                limit=self.stuck_seconds,
            )
            if reason:
                return f"stuck: {reason}"
        return ""

    def _stop(self, cluster: Any) -> None:
        """django-q2's graceful stop for at most STOP_SECONDS, then SIGKILL for what is left."""
        sentinel = cluster.sentinel
        if sentinel is not None and sentinel.is_alive() and cluster.stop_event is not None:
            cluster.stop_event.set()
            sentinel.join(STOP_SECONDS)
        left = descendants(os.getpid())
        if left:
            log.warning("the worker cluster did not stop within %g s: killing %s", STOP_SECONDS, left)
        self._kill(cluster)

    def _kill(self, cluster: Any) -> None:
        kill_all(descendants(os.getpid()))
        if cluster.sentinel is not None:
            cluster.sentinel.join(10)

    def _record(self, message: str) -> None:
        """Put the restart in the activity feed (the health page's recent errors), if the database answers."""
        from django import db

        from bots.services import activity_record
        from market.services import get_market_data

        try:
            activity_record(kind="error", level="error", message=message, at=get_market_data().now())
        except Exception as exc:
            log.warning("could not record the restart in the activity feed: %s", exc)
        finally:
            db.connections.close_all()
