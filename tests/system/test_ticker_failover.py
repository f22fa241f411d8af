"""Two tickers, three workers: kill the ticker that holds the lease, and the other takes over.

Decisions are made by the workers (queue dispatch); the tickers only enqueue.
After the takeover the survivor keeps the bots trading: every decision is one
order on the exchange, and every position is what the exchange filled.
"""

from __future__ import annotations

import time

import pytest

from tests.system.conftest import INTERVAL, LEASE
from tests.system.harness import assert_one_post_per_decision, assert_positions_equal_fills, pid_of, wait_until

pytestmark = pytest.mark.slow

PAIRS = ("BTC-USD", "ETH-USD", "SOL-USD", "LTC-USD")


def test_standby_ticker_takes_over_within_one_lease(cluster, system_db, fake):
    db = system_db
    bots = cluster.seed([{"name": f"bot {p}", "product_id": p, "live": True, "granularity": "1m"} for p in PAIRS])
    tickers = [cluster.ticker("ticker-a"), cluster.ticker("ticker-b")]
    for i in range(3):
        cluster.worker(f"worker-{i}")

    wait_until(lambda: all(db.filled(b) for b in bots), timeout=60, what="a filled buy for every bot")
    holder = wait_until(db.lease_owner, timeout=5, what="a ticker lease holder")
    active = next(t for t in tickers if t.pid == pid_of(holder))
    standby = next(t for t in tickers if t is not active)
    wait_until(
        lambda: any(
            pid_of(h["name"]) == standby.pid and h["info"] == {"lease": False} for h in db.heartbeats("ticker")
        ),
        timeout=10,
        what="the standby ticker's heartbeat",
    )
    wait_until(lambda: len(db.heartbeats("worker")) == 3, timeout=20, what="a heartbeat from each of three workers")

    cluster.kill(active)
    killed_at = time.monotonic()
    wait_until(
        lambda: db.lease_owner() and pid_of(db.lease_owner()) == standby.pid,
        timeout=LEASE + INTERVAL + 10,
        what="the standby ticker to take the lease",
        every=0.05,
    )
    took = time.monotonic() - killed_at
    # The lease was renewed at most one interval before the kill and lasts LEASE;
    # the standby tries once per interval.
    assert took <= LEASE + INTERVAL + 1.5, f"takeover took {took:.1f} s"

    for bot in bots:
        db.set_score(bot, -1.0)
    wait_until(
        lambda: all(len(db.filled(b)) == 2 for b in bots), timeout=30, what="every bot to sell under the new ticker"
    )
    beat = next(h for h in db.heartbeats("ticker") if pid_of(h["name"]) == standby.pid)
    assert beat["info"]["lease"] is True and beat["info"]["bots"] == len(bots)
    cluster.stop_all()

    assert_one_post_per_decision(fake, db)
    assert_positions_equal_fills(fake, db, bots)
    assert all(db.position(b) == 0 for b in bots)
    assert cluster.grep("took over the ticker lease")
