"""Every process of a qcluster SIGKILLed at once: both workers, the monitor and the pusher.

django-q2's guard replaces them inside the same cluster, but a process killed while
it waits on the cluster's queues leaves their lock taken, so the new processes block
forever: no task is taken again, and the cluster still says "Working" (django-q2
issue #23). ``runworkers`` ends such a cluster and starts a new one, so tasks flow
again within seconds; a bare ``qcluster`` wedges, and the health view says it is stuck.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.system.harness import (
    assert_one_post_per_decision,
    assert_positions_equal_fills,
    children,
    living,
    wait_until,
)

pytestmark = pytest.mark.slow

STUCK = "3"  # Q_STUCK_SECONDS


def _cluster_processes(parent: int) -> list[int]:
    """The workers, monitor and pusher under ``parent`` (qcluster or runworkers), once all four are up."""

    def found() -> list[int]:
        procs = [pid for guard in children(parent) for pid in children(guard)]
        return procs if len(procs) >= 4 else []

    return wait_until(found, timeout=30, what="the cluster's workers, monitor and pusher")


def test_tasks_flow_again_after_the_qcluster_group_is_killed(cluster, system_db, fake):
    db = system_db
    (bot,) = cluster.seed([{"name": "victim", "product_id": "BTC-USD", "live": True, "granularity": "1m"}])
    cluster.ticker("ticker")
    workers = cluster.worker("worker", workers=2, Q_STUCK_SECONDS="10")
    wait_until(lambda: db.filled(bot), timeout=60, what="a filled buy")

    killed = _cluster_processes(workers.pid)
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    db.set_score(bot, -1.0)
    wait_until(lambda: len(db.filled(bot)) == 2, timeout=60, what="the sell, through a new cluster")

    assert workers.alive()
    assert not living(killed)
    assert cluster.grep("ending this cluster for a new one")
    assert "task queue: ok" in cluster.manage("system_status")
    cluster.stop_all()
    assert_one_post_per_decision(fake, db)
    assert_positions_equal_fills(fake, db, [bot])
    assert db.position(bot) == 0


def test_a_wedged_bare_qcluster_is_reported_stuck(cluster, system_db, fake):
    db = system_db
    (bot,) = cluster.seed([{"name": "victim", "product_id": "BTC-USD", "live": True, "granularity": "1m"}])
    cluster.ticker("ticker")
    qcluster = cluster.worker("qcluster", workers=2, command="qcluster", Q_STUCK_SECONDS=STUCK)
    wait_until(lambda: db.filled(bot), timeout=60, what="a filled buy")
    assert "task queue: ok" in cluster.manage("system_status", Q_STUCK_SECONDS=STUCK)

    for pid in _cluster_processes(qcluster.pid):
        os.kill(pid, signal.SIGKILL)
    db.set_score(bot, -1.0)

    def stuck() -> str:
        out = cluster.manage("system_status", Q_STUCK_SECONDS=STUCK)
        return out if "task queue: stuck" in out else ""

    status = wait_until(stuck, timeout=60, what="the health view to say the task queue is stuck", every=1)
    assert "no worker has taken a task" in status
    assert len(db.filled(bot)) == 1  # wedged indeed: the sell never came
    assert cluster.grep("reincarnated worker .* after death")  # django-q2 believed it had repaired it
