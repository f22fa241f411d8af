"""Redis stops (cache and task queue gone) and comes back empty.

The locks that keep orders single (the ticker lease, each bot's lease, the
unique decision key, the order row written before the request) live in the
database, so Redis going away cannot double an order; without the queue no
evaluation runs, so nothing trades meanwhile. The ticker reports the outage
(log, heartbeat, one event in the activity feed) and both the ticker and the
workers resume by themselves when Redis is back.
"""

from __future__ import annotations

import time

import pytest

from tests.system.harness import assert_one_post_per_decision, assert_positions_equal_fills, pid_of, wait_until

pytestmark = pytest.mark.slow

PAIRS = ("BTC-USD", "ETH-USD")


def test_redis_outage_places_nothing_is_reported_and_recovers(cluster, system_db, fake, redis_server):
    db = system_db
    bots = cluster.seed([{"name": f"bot {p}", "product_id": p, "live": True, "granularity": "1m"} for p in PAIRS])
    ticker = cluster.ticker("ticker")
    cluster.worker("worker", workers=2)
    wait_until(lambda: all(db.filled(b) for b in bots), timeout=60, what="a filled buy for every bot")

    redis_server.stop()
    for bot in bots:
        db.set_score(bot, -1.0)  # a sell decision waits for the first evaluation
    posted = len(fake.order_posts())
    wait_until(
        lambda: db.events(level="error", contains="tick failed"), timeout=10, what="the ticker to report the outage"
    )
    time.sleep(3)  # a few more ticks without Redis
    assert len(fake.order_posts()) == posted and len(db.orders()) == len(bots)
    beat = next(h for h in db.heartbeats("ticker") if pid_of(h["name"]) == ticker.pid)
    assert "ConnectionError" in beat["info"]["error"] and beat["info"]["failed_ticks"] >= 3
    assert len(db.events(level="error", contains="tick failed")) == 1  # once per outage, not per tick

    redis_server.start()  # empty: the queued tasks and cached candles are gone
    wait_until(lambda: all(len(db.filled(b)) == 2 for b in bots), timeout=40, what="the bots to sell after recovery")
    assert db.events(contains="ticking again after")
    cluster.stop_all()

    assert_one_post_per_decision(fake, db)
    assert_positions_equal_fills(fake, db, bots)
    assert all(db.position(b) == 0 for b in bots)
    assert cluster.grep("Failed to pull task from broker")  # the workers saw it too, and got over it
