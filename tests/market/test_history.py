"""fetch_candles stores history once; cache_stats reports the counters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from market.models import Candle
from market.selectors import candles_stored
from market.types import Granularity

pytestmark = pytest.mark.django_db


class Counting:
    """The real simulated market, counting candle requests."""

    def __init__(self, source):
        self.source = source
        self.name = source.name
        self.requests = []

    def __getattr__(self, name):
        return getattr(self.source, name)

    def candles(self, product_id, granularity, start, end):
        self.requests.append((start, end))
        return self.source.candles(product_id, granularity, start, end)


@pytest.fixture
def counting(sim, db):
    from market.cache import CachedMarketData
    from market.services import market_use, products_sync

    wrapper = Counting(sim)
    market_use(CachedMarketData(wrapper))
    products_sync()
    return wrapper


def test_fetch_candles_stores_the_span_and_is_idempotent(counting, sim, capsys):
    call_command("fetch_candles", "btc-usd", "--granularity", "5m", "--days", "2")
    stored = Candle.objects.filter(product_id="BTC-USD", granularity="5m").count()
    assert stored == 2 * 288
    assert len(counting.requests) == 2  # 576 candles in chunks of at most 300
    assert all((end - start) <= timedelta(minutes=5 * 300) for start, end in counting.requests)
    assert "stored 576 new" in capsys.readouterr().out

    call_command("fetch_candles", "BTC-USD", "--granularity", "5m", "--days", "2")
    assert len(counting.requests) == 2  # nothing missing: no request at all
    assert "stored 0 new" in capsys.readouterr().out


def test_stored_candles_equal_the_market(counting, sim):
    call_command("fetch_candles", "ETH-USD", "--granularity", "1h", "--days", "3")
    now = sim.now()
    series = candles_stored("ETH-USD", "1h")
    direct = sim.candles("ETH-USD", Granularity.ONE_HOUR, now - timedelta(days=3), now)
    assert list(series.time) == list(direct.time)
    assert list(series.close) == pytest.approx(list(direct.close), rel=1e-12)


def test_fetch_candles_gaps_are_filled_only(counting, sim):
    call_command("fetch_candles", "BTC-USD", "--granularity", "1h", "--days", "2")
    Candle.objects.filter(product_id="BTC-USD").order_by("time")[5].delete()
    requests = len(counting.requests)
    call_command("fetch_candles", "BTC-USD", "--granularity", "1h", "--days", "2")
    assert len(counting.requests) == requests + 1
    assert Candle.objects.filter(product_id="BTC-USD").count() == 48


def test_fetch_candles_bad_input_names_the_problem(counting):
    with pytest.raises(CommandError, match="unknown product 'FOO-USD'"):
        call_command("fetch_candles", "FOO-USD")
    with pytest.raises(CommandError, match="unknown granularity '7m'"):
        call_command("fetch_candles", "BTC-USD", "--granularity", "7m")


def test_cache_stats_prints_the_counters(market, capsys):
    market.stats_reset()
    market.ticker("BTC-USD")
    market.ticker("BTC-USD")
    call_command("cache_stats", "--reset")
    out = capsys.readouterr().out
    assert "hit rate:        50.0 %" in out and "no limit (local source)" in out
    assert market.stats()["hits"] == 0
