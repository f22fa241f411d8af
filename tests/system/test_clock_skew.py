"""A worker whose clock is a few seconds off (in-process: time-machine plays each host's clock).

The market is read on each host's own wall clock, as on Coinbase. The decision
time travels with the task, so a skewed worker decides at the ticker's time
and a duplicate delivery is the same decision. Leases compare the host's
clock with the expiry another host wrote: hosts s seconds apart see each
other's leases s seconds shorter or longer, which a 60-second lease absorbs.
A worker more than three intervals ahead drops every task as stale: clocks
must be kept in sync.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bots.models import Bot
from market.cache import CachedMarketData
from market.clock import WallClock
from market.models import Heartbeat
from market.services import market_use
from market.simulated import SimulatedMarket
from tests.conftest import SIM_EPOCH, SIM_START
from trading import tasks
from trading.engine import bot_claim
from trading.models import Order
from trading.runner import TICKER_LEASE, lease_claim
from trading.tasks import evaluate_bot

pytestmark = pytest.mark.django_db

SKEW = timedelta(seconds=5)


@pytest.fixture
def wall_market(market, settings, time_machine) -> CachedMarketData:
    """The simulated market read on the (travelling) wall clock: market time is the host's time."""
    settings.MARKET_DATA = "coinbase"  # the task's staleness window is in plain seconds, as live
    settings.EVALUATION_INTERVAL_SECONDS = 10
    time_machine.move_to(SIM_START, tick=False)
    cached = CachedMarketData(SimulatedMarket(seed=7, epoch=SIM_EPOCH, clock=WallClock()))
    market_use(cached)
    return cached


def test_skewed_workers_decide_at_the_tickers_time(make_bot, wallet, wall_market, time_machine):
    bot = make_bot(score=1.0)
    at = SIM_START  # the ticker's clock, carried by the task
    time_machine.move_to(at + SKEW, tick=False)
    assert evaluate_bot(bot.pk, at.isoformat()) == "ordered"
    time_machine.move_to(at - SKEW, tick=False)  # the same task delivered again, to a worker behind
    assert evaluate_bot(bot.pk, at.isoformat()) != "ordered"
    order = Order.objects.get()
    assert order.decision_key == f"{bot.pk}:{at.isoformat()}" and order.created_at == at
    bot.refresh_from_db()
    assert bot.last_evaluated_at == at


def test_a_few_seconds_of_skew_shorten_a_lease_by_as_much(make_bot, wallet, wall_market, settings, time_machine):
    settings.RUNNER_LEASE_SECONDS = 60
    bot = make_bot(score=0.0)
    behind, ahead = -SKEW, SKEW
    time_machine.move_to(SIM_START + behind, tick=False)
    assert bot_claim(bot.pk, "worker-behind") and lease_claim(TICKER_LEASE, "ticker-behind", 60)
    # Real time passes; the host ahead sees both leases end 2 x SKEW early, and no sooner.
    time_machine.move_to(SIM_START + timedelta(seconds=60) - 2 * SKEW - timedelta(seconds=1) + ahead, tick=False)
    assert not bot_claim(bot.pk, "worker-ahead") and not lease_claim(TICKER_LEASE, "ticker-ahead", 60)
    time_machine.move_to(SIM_START + timedelta(seconds=60) - 2 * SKEW + timedelta(seconds=1) + ahead, tick=False)
    assert bot_claim(bot.pk, "worker-ahead") and lease_claim(TICKER_LEASE, "ticker-ahead", 60)
    assert Bot.objects.get(pk=bot.pk).lease_owner == "worker-ahead"


def test_a_worker_three_intervals_ahead_drops_tasks_as_stale(
    make_bot, wallet, wall_market, time_machine, caplog, monkeypatch
):
    monkeypatch.setitem(tasks._worker, "beat_at", float("-inf"))  # this process has not beaten yet
    bot = make_bot(score=1.0)
    time_machine.move_to(SIM_START + timedelta(seconds=31), tick=False)
    with caplog.at_level(logging.WARNING, logger="trading.tasks"):
        assert evaluate_bot(bot.pk, SIM_START.isoformat()) == "stale"
    assert "dropping evaluation" in caplog.text
    assert not Order.objects.exists()
    assert Heartbeat.objects.get(role="worker").info["last_outcome"] == "stale"
