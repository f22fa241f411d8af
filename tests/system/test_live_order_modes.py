"""A live order left unknown, its bot switched to paper, the system restarted in paper mode, then back.

Real processes on the fake Coinbase: the order request's connection drops after
Coinbase accepted (and filled) it, and Coinbase answers 503 to every look-up.
Taking the bot off live is refused while the order is unresolved; forced in the
database anyway, and with the ticker restarted as TRADING_MODE=paper on the
simulated market (whose clock runs 60 times faster), the order is still asked
of Coinbase, never written off on the paper wallet's word or on market time.
When Coinbase answers, the fill is booked, and after going back to live it is
booked exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.system.harness import LAUNCH, ROOT, assert_one_post_per_decision, assert_positions_equal_fills, wait_until

pytestmark = pytest.mark.slow
LOOKUPS = ("GET /orders/historical/batch", "GET /orders/historical/*")


def _manage(cluster, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(LAUNCH), *args],
        cwd=ROOT,
        env={**cluster.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unknown_live_order_is_booked_once_across_a_paper_restart(cluster, system_db, fake):
    db = system_db
    (bot,) = cluster.seed([{"name": "live-one", "product_id": "BTC-USD", "live": True, "granularity": "1m"}])
    fake.faults.add("POST /orders", "drop")
    for route in LOOKUPS:
        fake.faults.add(route, "status", 503, times=None)
    ticker = cluster.start("ticker", "runbots", EVALUATION_DISPATCH="inline")

    wait_until(lambda: fake.state.orders, timeout=60, what="Coinbase to accept the order")
    wait_until(lambda: db.orders(bot) and db.orders(bot)[0]["status"] == "UNKNOWN", timeout=30, what="UNKNOWN")
    db.set_score(bot, 0.0)  # from now on the bot holds: every further order would be a duplicate

    # Taking the bot off live is refused while its live order is unresolved (the service every interface uses).
    refused = _manage(
        cluster,
        "shell",
        "-c",
        f"from bots.models import Bot; from bots.services import bot_update; "
        f"bot_update(bot=Bot.objects.get(pk={bot}), live=False)",
    )
    assert refused.returncode != 0 and "stays live until its outcome is known" in refused.stderr

    # Forced in the database anyway, and the system restarted in paper mode on the fast simulated clock.
    ticker.popen.terminate()
    ticker.popen.wait(30)
    db.rows("update bots_bot set live = false where id = %s", bot)
    cluster.start(
        "ticker-paper", "runbots", EVALUATION_DISPATCH="inline", TRADING_MODE="paper", MARKET_DATA="simulated"
    )
    wait_until(lambda: cluster.grep(r"lookup of at-\w+ failed"), timeout=30, what="a look-up on Coinbase")
    time.sleep(10)  # ten wall seconds are ten market minutes here: twice the give-up, were it on market time
    (order,) = db.orders(bot)
    assert order["status"] == "UNKNOWN", f"the live order was written off: {order['reject_message']}"
    assert not db.rows("select * from trading_trade")

    fake.faults.clear()  # Coinbase answers again
    wait_until(lambda: db.filled(bot), timeout=30, what="the paper-mode ticker to resolve the live order on Coinbase")
    assert_positions_equal_fills(fake, db, [bot])

    # Back to live: the fill stays booked once.
    for proc in cluster.procs:
        proc.popen.terminate()
        proc.popen.wait(30)
    db.rows("update bots_bot set live = true where id = %s", bot)
    cluster.start("ticker-live", "runbots", EVALUATION_DISPATCH="inline")
    beats = len(db.heartbeats("ticker"))
    wait_until(lambda: len(cluster.grep(r"tick at .*: 1 bots")) >= 3, timeout=30, what="three live ticks")
    assert len(db.heartbeats("ticker")) >= beats
    cluster.stop_all()

    assert_one_post_per_decision(fake, db)
    assert_positions_equal_fills(fake, db, [bot])
    assert len(db.rows("select * from trading_trade")) == len(fake.state.all_fills())
    check = _manage(cluster, "reconcile_positions", "check")
    assert check.returncode == 0, check.stdout + check.stderr
