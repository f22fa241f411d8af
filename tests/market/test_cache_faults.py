"""The cache under faults: the shared request budget and back-off with stale values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache

from market.cache import BackingOff, CachedMarketData
from market.exchange import RateLimited, TemporaryError
from market.ratelimit import TokenBucket
from market.types import Granularity

G = Granularity.FIVE_MINUTE


class FakeWall:
    """A wall clock the test moves; sleeping moves it too."""

    def __init__(self, t: float = 1_000_000.0):
        self.t = t
        self.slept = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.slept += seconds


class Flaky:
    """A real simulated market whose next calls fail in a chosen way."""

    def __init__(self, source):
        self.source = source
        self.name = source.name
        self.failures: list[Exception] = []
        self.calls = 0

    def now(self):
        return self.source.now()

    def _maybe_fail(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)

    def products(self):
        self._maybe_fail()
        return self.source.products()

    def ticker(self, product_id):
        self._maybe_fail()
        return self.source.ticker(product_id)

    def candles(self, *args):
        self._maybe_fail()
        return self.source.candles(*args)


@pytest.fixture
def wall():
    return FakeWall()


@pytest.fixture
def flaky(sim):
    return Flaky(sim)


@pytest.fixture
def cached(flaky, wall, settings):
    settings.BACKOFF_BASE_SECONDS = 2.0
    settings.BACKOFF_MAX_SECONDS = 60.0
    return CachedMarketData(flaky, ttl=30, rate=5, wall=wall, sleep=wall.sleep)


def window(market):
    now = market.now()
    return now - G.delta * 50, now


def test_bucket_allows_rate_per_second_then_waits(wall):
    bucket = TokenBucket(cache, "t", rate=3, wall=wall, sleep=wall.sleep)
    for _ in range(3):
        bucket.acquire()
    assert wall.slept == 0
    bucket.acquire()  # the fourth waits for the next second
    assert 0 < wall.slept <= 1.0 and bucket.waits == 1
    assert bucket.used() == 1


def test_bucket_gives_up_after_max_wait(wall):
    bucket = TokenBucket(cache, "t2", rate=1, max_wait=0.5, wall=wall, sleep=wall.sleep)
    bucket.acquire()
    with pytest.raises(RateLimited, match="1/s"):
        bucket.acquire()  # the next token is a whole second away, beyond max_wait
    assert wall.slept == 0


def test_two_buckets_share_one_budget(wall):
    a = TokenBucket(cache, "shared", rate=2, wall=wall, sleep=wall.sleep)
    b = TokenBucket(cache, "shared", rate=2, wall=wall, sleep=wall.sleep)
    a.acquire()
    b.acquire()
    assert wall.slept == 0
    a.acquire()
    assert wall.slept > 0


def test_upstream_calls_respect_the_budget(cached, flaky, wall, clock):
    for product in ("BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD", "XRP-USD", "LTC-USD", "DOGE-USD"):
        cached.ticker(product)
    assert flaky.calls == 7
    assert wall.slept > 0  # 5 per second: the sixth call waited


def test_429_backs_off_and_serves_the_stale_ticker(cached, flaky, wall, clock):
    fresh = cached.ticker("BTC-USD")
    assert not fresh.stale
    clock.advance(timedelta(minutes=1))
    flaky.failures = [RateLimited("429 Too Many Requests")]
    stale = cached.ticker("BTC-USD")
    assert stale.stale and stale.price == fresh.price
    stats = cached.stats()
    assert stats["rate_limited"] == 1 and stats["backing_off"] and stats["consecutive_failures"] == 1
    calls = flaky.calls
    cached.ticker("BTC-USD")  # still backing off: no upstream call at all
    assert flaky.calls == calls


def test_backoff_grows_exponentially_and_clears_on_success(cached, flaky, wall, clock):
    cached.ticker("BTC-USD")
    delays = []
    for failure in range(1, 4):
        clock.advance(timedelta(minutes=1))
        flaky.failures = [TemporaryError("503")]
        assert cached.ticker("BTC-USD").stale
        left = cached.stats()["backoff_seconds_left"]
        assert 2.0 * 2 ** (failure - 1) * 0.5 <= left <= 2.0 * 2 ** (failure - 1)
        delays.append(left)
        wall.t += left + 0.01
    assert cached.stats()["consecutive_failures"] == 3
    clock.advance(timedelta(minutes=1))
    assert not cached.ticker("BTC-USD").stale
    assert cached.stats()["consecutive_failures"] == 0 and not cached.stats()["backing_off"]


def test_candles_served_stale_while_backing_off(cached, flaky, wall, clock):
    start, end = window(cached)
    first = cached.candles("BTC-USD", G, start, end)
    clock.advance(G.delta * 2)
    flaky.failures = [TemporaryError("connection reset")]
    start, end = window(cached)
    again = cached.candles("BTC-USD", G, start, end)
    assert len(again) > 0 and again.time[-1] == first.time[-1]  # the last good series
    assert cached.stats()["stale_served"] == 1


def test_nothing_cached_means_the_error_surfaces(cached, flaky):
    flaky.failures = [TemporaryError("503")]
    with pytest.raises(TemporaryError):
        cached.ticker("ETH-USD")
    with pytest.raises(BackingOff, match="backing off"):
        cached.ticker("ETH-USD")


def test_simulated_market_has_no_budget(sim):
    assert CachedMarketData(sim).limiter is None


def test_history_reaching_before_the_first_candle_is_not_refetched(sim, clock):
    """A young market (or a new listing) has no older candles: asking again must not go upstream."""
    flaky = Flaky(sim)
    cached = CachedMarketData(flaky, ttl=30)
    g = Granularity.ONE_DAY
    now = cached.now()
    start = now - g.delta * 100  # 100 days back; the simulated market has 10 days
    first = cached.candles("BTC-USD", g, start, now)
    assert 0 < len(first) < 100
    calls = flaky.calls
    again = cached.candles("BTC-USD", g, start, now)
    assert flaky.calls == calls and list(again.time) == list(first.time)
