"""The market-data cache over a real simulated market, counted at the source."""

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest
from django.core.cache import cache

from market.cache import STAT_NAMES, CachedMarketData
from market.simulated import SimulatedMarket
from market.types import Candles, Granularity, UnknownProduct

TTL = 30.0
G5 = Granularity.FIVE_MINUTE
PAIRS = ("BTC-USD", "ETH-USD", "SOL-USD")
LOOKBACK = 100  # candles a bot reads


class CountingMarket:
    """The simulated market, recording every call made to it (method, arguments, market time)."""

    def __init__(self, market: SimulatedMarket) -> None:
        self.market = market
        self.name = market.name
        self.calls: list[tuple[str, tuple, datetime]] = []

    def counts(self) -> Counter:
        return Counter(name for name, _, _ in self.calls if name != "now")

    def of(self, name: str) -> list[tuple]:
        return [args for n, args, _ in self.calls if n == name]

    def _record(self, name: str, *args):
        self.calls.append((name, args, self.market.now()))
        return getattr(self.market, name)(*args)

    def now(self) -> datetime:
        return self.market.now()

    def products(self):
        return self._record("products")

    def product(self, product_id):
        return self._record("product", product_id)

    def candles(self, product_id, granularity, start, end):
        return self._record("candles", product_id, granularity, start, end)

    def ticker(self, product_id):
        return self._record("ticker", product_id)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def source(sim: SimulatedMarket) -> CountingMarket:
    return CountingMarket(sim)


@pytest.fixture
def cached(source: CountingMarket) -> CachedMarketData:
    data = CachedMarketData(source, ttl=TTL)
    data.stats_reset()
    return data


def read(market, product_id: str = "BTC-USD", lookback: int = LOOKBACK, g: Granularity = G5) -> Candles:
    now = market.now()
    return market.candles(product_id, g, now - lookback * g.delta, now)


def assert_same_candles(got: Candles, want: Candles) -> None:
    assert len(got) == len(want)
    for column in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(got, column), getattr(want, column), err_msg=column)


def test_twenty_bots_on_three_pairs_cost_one_upstream_call_per_pair_per_ttl(cached, source, clock):
    start = clock.now()  # on a 5-minute boundary: candle closes fall on TTL boundaries
    assert start.timestamp() % G5.seconds == 0
    bots = [PAIRS[i % len(PAIRS)] for i in range(20)]
    duration, every = 600, 5
    reads = 0
    for _ in range(duration // every):
        for pid in bots:
            candles = read(cached, pid)
            reads += 1
            assert len(candles) >= LOOKBACK - 1  # a window starting inside a candle holds one fewer
        clock.advance(timedelta(seconds=every))

    per_window = Counter(
        (args[0], int((at - start).total_seconds() // TTL)) for name, args, at in source.calls if name == "candles"
    )
    assert max(per_window.values()) == 1
    per_pair = Counter(pid for pid, _ in per_window.elements())
    assert set(per_pair) == set(PAIRS)
    assert all(n <= duration / TTL + 1 for n in per_pair.values())
    stats = cached.stats()
    assert stats["hits"] + stats["misses"] + stats["stale_served"] == reads
    assert stats["upstream_calls"] == sum(per_pair.values())
    assert stats["hit_rate"] >= 0.95


def test_refresh_after_warm_up_fetches_only_candles_from_the_last_cached_one(cached, source, clock):
    first = read(cached)
    (warm_up,) = source.of("candles")
    assert warm_up[2] == clock.now() - LOOKBACK * G5.delta

    clock.advance(timedelta(minutes=12))
    second = read(cached)

    refresh = source.of("candles")[-1]
    assert refresh[2] == datetime.fromtimestamp(int(first.time[-1]), tz=clock.now().tzinfo)
    assert refresh[3] == clock.now()
    assert len(source.market.candles(*refresh)) == 3  # the last cached candle again, and two new ones
    assert second.time[-1] == first.time[-1] + 2 * G5.seconds


def test_cached_candles_equal_the_source_for_the_same_window(cached, source, sim, clock):
    for _ in range(30):
        read(cached)
        clock.advance(timedelta(seconds=47))
    now = clock.now()
    windows = [
        (now - LOOKBACK * G5.delta, now),
        (now - 10 * G5.delta, now),
        (now - timedelta(minutes=97, seconds=13), now - timedelta(minutes=21, seconds=7)),
        (now - 50 * G5.delta, now - 50 * G5.delta + timedelta(seconds=299)),  # too short to hold a candle
        (now - 3 * G5.delta, now + timedelta(hours=1)),  # an end beyond now: complete candles only
    ]
    for start, end in windows:
        got = cached.candles("BTC-USD", G5, start, end)
        want = sim.candles("BTC-USD", G5, start, end)
        assert_same_candles(got, want)
        assert all(got.time + G5.seconds <= now.timestamp())


def test_reader_asking_one_candle_more_history_gets_it(cached, sim, clock):
    read(cached, lookback=LOOKBACK)
    now = clock.now()

    for lookback in (LOOKBACK + 1, LOOKBACK + 2):
        start = now - lookback * G5.delta
        assert_same_candles(cached.candles("BTC-USD", G5, start, now), sim.candles("BTC-USD", G5, start, now))


def test_new_candle_closing_forces_refresh_inside_the_ttl(cached, source, sim, clock):
    clock.advance(timedelta(minutes=4, seconds=50))  # ten seconds before a candle closes
    before = read(cached)
    clock.advance(timedelta(seconds=5))
    assert_same_candles(read(cached), before)
    assert source.counts()["candles"] == 1

    clock.advance(timedelta(seconds=10))  # 15 s after the fetch, within the TTL, a candle has closed
    after = read(cached)

    assert source.counts()["candles"] == 2
    assert after.time[-1] == before.time[-1] + G5.seconds
    assert_same_candles(after, sim.candles("BTC-USD", G5, clock.now() - LOOKBACK * G5.delta, clock.now()))


def test_entry_expires_after_the_ttl_even_without_a_new_candle(cached, source, clock):
    read(cached)
    clock.advance(timedelta(seconds=TTL - 1))
    read(cached)
    assert source.counts()["candles"] == 1

    clock.advance(timedelta(seconds=1))
    read(cached)
    assert source.counts()["candles"] == 2


def test_stats_agree_with_the_calls_the_source_saw(cached, source, clock):
    for _ in range(12):
        for pid in PAIRS:
            read(cached, pid)
            cached.ticker(pid)
        clock.advance(timedelta(seconds=7))
    cached.product("ETH-USD")
    cached.products()

    stats = cached.stats()
    counts = source.counts()
    upstream = counts["candles"] + counts["ticker"] + counts["products"]
    assert stats["upstream_calls"] == upstream
    assert stats["misses"] == upstream
    assert stats["hits"] + stats["misses"] + stats["stale_served"] == 12 * 2 * len(PAIRS) + 2
    assert stats["stale_served"] == stats["errors"] == stats["rate_limited"] == 0
    assert stats["hit_rate"] == pytest.approx(stats["hits"] / (stats["hits"] + stats["misses"]))
    assert counts["products"] == 1


def test_stats_reset_zeroes_every_counter(cached, clock):
    read(cached)
    read(cached)
    cached.ticker("BTC-USD")
    assert cached.stats()["hits"] == 1

    cached.stats_reset()

    stats = cached.stats()
    assert {k: stats[k] for k in STAT_NAMES} == dict.fromkeys(STAT_NAMES, 0)
    assert stats["hit_rate"] == 0.0
    read(cached)
    assert cached.stats()["hits"] == 1


def test_ticker_is_cached_within_its_ttl_and_refreshed_after(cached, source, sim, clock):
    first = cached.ticker("BTC-USD")
    assert first == sim.ticker("BTC-USD")
    clock.advance(timedelta(seconds=4))
    assert cached.ticker("BTC-USD") == first
    assert source.counts()["ticker"] == 1

    clock.advance(timedelta(seconds=26))
    refreshed = cached.ticker("BTC-USD")

    assert source.counts()["ticker"] == 2
    assert refreshed == sim.ticker("BTC-USD")
    assert refreshed.time > first.time


def test_tickers_are_cached_per_product(cached, source):
    btc, eth = cached.ticker("BTC-USD"), cached.ticker("ETH-USD")

    assert (btc.product_id, eth.product_id) == ("BTC-USD", "ETH-USD")
    assert cached.ticker("ETH-USD") == eth
    assert source.counts()["ticker"] == 2


def test_candle_entries_are_shared_by_every_cache_instance(source, sim, clock):
    one, two = CachedMarketData(source, ttl=TTL), CachedMarketData(source, ttl=TTL)

    assert_same_candles(read(one), read(two))
    assert source.counts()["candles"] == 1


def test_unknown_product_raises_unknown_product_naming_it(cached):
    with pytest.raises(UnknownProduct, match="unknown product 'FOO-USD'") as info:
        cached.product("FOO-USD")

    assert info.value.product_id == "FOO-USD"
    assert isinstance(info.value, KeyError)
    assert "BTC-USD" in str(info.value)
    assert cached.product("ETH-USD").product_id == "ETH-USD"


def test_products_are_fetched_once_and_served_from_cache(cached, source, clock):
    ids = [p.product_id for p in cached.products()]
    clock.advance(timedelta(hours=1))

    assert [p.product_id for p in cached.products()] == ids
    assert cached.product("SOL-USD").product_id == "SOL-USD"
    assert source.counts()["products"] == 1
    assert set(PAIRS) <= set(ids)


def test_stats_are_shared_by_every_reader_of_one_source(source, cached):
    read(cached)
    mine = cached.stats()  # reading the stats publishes this reader's counts
    other_reader = CachedMarketData(source, ttl=TTL)

    assert other_reader.stats() == mine
    assert mine["misses"] == mine["upstream_calls"] == 1
    read(other_reader)
    assert other_reader.stats()["hits"] == 1
    assert cached.stats() == other_reader.stats()
