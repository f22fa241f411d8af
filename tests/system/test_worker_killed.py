"""A worker SIGKILLed while its order request is in flight.

The order row and its client_order_id were committed before the request, so
nothing is lost: the exchange fills the order after the worker is gone, the
ticker (restarted here, as after a host failure) looks it up by its
client_order_id, and the position is exactly the exchange's fill. Meanwhile
the bot places nothing else, and afterwards trades normally.
"""

from __future__ import annotations

import pytest

from tests.system.harness import assert_one_post_per_decision, assert_positions_equal_fills, pid_of, wait_until

pytestmark = pytest.mark.slow

DELAY = 2.0  # seconds the exchange takes over the order: the window to kill in (the client waits 5 s)


def test_order_in_flight_when_its_worker_dies_is_resolved_on_restart(cluster, system_db, fake):
    db = system_db
    (bot,) = cluster.seed([{"name": "victim", "product_id": "BTC-USD", "live": True, "granularity": "1m"}])
    fake.faults.add("POST /orders", "delay", DELAY)
    ticker = cluster.ticker("ticker")
    qcluster = cluster.worker("worker")

    wait_until(lambda: fake.requests("POST /orders"), timeout=60, what="the order request", every=0.02)
    owner = db.bot(bot)["lease_owner"]  # the worker evaluating the bot, inside its lease
    assert owner.startswith("worker@"), owner
    cluster.kill_pid(pid_of(owner))
    cluster.kill(ticker)  # the host's ticker dies too: nothing resolves the order until the restart
    (order,) = db.orders(bot)
    # PENDING, or UNKNOWN if a tick looked it up before the exchange had it: never sent again either way.
    assert order["status"] in ("PENDING", "UNKNOWN") and not order["exchange_order_id"]

    wait_until(lambda: fake.state.orders, timeout=DELAY + 5, what="the exchange to fill the order anyway")
    assert fake.state.orders[0].client_order_id == order["client_order_id"]
    assert db.orders(bot)[0]["status"] in ("PENDING", "UNKNOWN")  # the database cannot know yet

    cluster.ticker("ticker-restarted")
    wait_until(lambda: db.filled(bot), timeout=30, what="the restarted ticker to resolve the order")
    (order,) = db.orders(bot)
    assert order["exchange_order_id"] == fake.state.orders[0].order_id
    assert_positions_equal_fills(fake, db, [bot])
    assert qcluster.alive()  # django-q2 replaced the killed worker

    db.set_score(bot, -1.0)
    wait_until(lambda: len(db.filled(bot)) == 2, timeout=30, what="the bot to sell through the new worker")
    cluster.stop_all()

    assert_one_post_per_decision(fake, db)
    assert_positions_equal_fills(fake, db, [bot])
    assert db.position(bot) == 0
    assert cluster.grep("reincarnated worker .* after death")
