"""Coinbase unreachable for minutes: reads back off, bots skip with the reason, and resume.

The fake answers every request with 503 for three minutes of ticks (the clock
moved by time-machine). No bot decides on prices the cache can only serve
stale, nothing is ordered, the activity feed says why once per bot (not an
error per tick), and the first tick after the back-off window trades.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bots.models import ActivityEvent
from tests.coinbase.test_live_path import assert_books_match, assert_one_post_per_decision, tick
from tests.conftest import set_score
from trading.engine import EXCHANGE_UNAVAILABLE
from trading.models import Order

pytestmark = pytest.mark.django_db

ROUTES = (
    "GET /market/products",
    "GET /market/products/*",
    "GET /market/products/*/candles",
    "GET /market/products/*/ticker",
    "GET /accounts",
    "GET /transaction_summary",
    "POST /orders",
    "GET /orders/historical/batch",
    "GET /orders/historical/fills",
    "GET /orders/historical/*",
)


def test_minutes_without_the_exchange(live_bot, live_market, cb_exchange, fake_coinbase, cb_clock, settings):
    settings.BACKOFF_BASE_SECONDS, settings.BACKOFF_MAX_SECONDS = 1, 60
    bot = live_bot(score=0.0)
    assert tick(bot, live_market, cb_exchange).outcome == "skipped"  # a hold: the cache is warm

    for route in ROUTES:
        fake_coinbase.faults.add(route, "status", 503, times=None)
    set_score(bot, 1.0)  # it would buy at once if it could see the market
    requests_before = len(fake_coinbase.requests())
    for _ in range(18):  # three minutes of 10-second ticks
        cb_clock.shift(timedelta(seconds=10))
        result = tick(bot, live_market, cb_exchange)
        assert result.outcome == "skipped" and "exchange unavailable" in result.detail
    bot.refresh_from_db()
    assert bot.last_skip_code == EXCHANGE_UNAVAILABLE
    assert fake_coinbase.order_posts() == []
    skips = ActivityEvent.objects.filter(bot=bot, data__code=EXCHANGE_UNAVAILABLE)
    assert skips.count() == 1 and skips.get().level == "warning"
    assert not ActivityEvent.objects.filter(level="error").exists()
    # Backing off: far fewer requests than 18 ticks x (ticker + candles + accounts), each retried.
    assert len(fake_coinbase.requests()) - requests_before <= 30
    assert live_market.stats()["backing_off"]

    fake_coinbase.faults.clear()
    for _ in range(int(settings.BACKOFF_MAX_SECONDS / 10) + 1):
        cb_clock.shift(timedelta(seconds=10))
        if tick(bot, live_market, cb_exchange).outcome == "ordered":
            break
    assert Order.objects.get().status == "FILLED"
    bot.refresh_from_db()
    assert bot.last_skip_code == ""
    assert_one_post_per_decision(fake_coinbase)
    assert_books_match(fake_coinbase, bot)
