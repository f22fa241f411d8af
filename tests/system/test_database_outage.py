"""The database goes away for a few seconds (every connection dropped, new ones refused).

Everything that decides or records an order needs the database, so nothing is
evaluated or ordered meanwhile. The ticker says so in its log and keeps
trying; the workers' tasks fail; when the database is back, both resume by
themselves and the waiting decision is made once.
"""

from __future__ import annotations

import time

import pytest

from tests.system.harness import assert_one_post_per_decision, assert_positions_equal_fills, wait_until

pytestmark = pytest.mark.slow


def test_database_outage_places_nothing_and_recovers(cluster, system_db, fake, db_proxy):
    db = system_db
    (bot,) = cluster.seed([{"name": "bot", "product_id": "BTC-USD", "live": True, "granularity": "1m"}])
    ticker = cluster.ticker("ticker")
    qcluster = cluster.worker("worker")
    wait_until(lambda: db.filled(bot), timeout=60, what="the bot's buy")

    db_proxy.cut()
    db.set_score(bot, -1.0)  # the test's own connection is direct
    posted = len(fake.order_posts())
    time.sleep(4)
    assert len(fake.order_posts()) == posted
    assert ticker.alive() and qcluster.alive()
    db_proxy.restore()

    wait_until(lambda: len(db.filled(bot)) == 2, timeout=40, what="the bot to sell after the database is back")
    assert db.events(contains="ticking again after")
    cluster.stop_all()

    assert cluster.grep("the database is unavailable")
    assert_one_post_per_decision(fake, db)
    assert_positions_equal_fills(fake, db, [bot])
    assert db.position(bot) == 0
