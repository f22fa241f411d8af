"""The market-data cache: every exchange read goes through Django's cache.

One entry per (product, granularity) and one per ticker, shared by every bot
and process, so any number of bots on a pair costs the exchange what one bot
costs. Freshness is measured on the market's clock (on Coinbase that is the
wall clock; on the simulated market it runs faster). Candle entries refresh
incrementally: only candles newer than the cached ones are fetched. One
caller refreshes an expired entry (a lock through ``cache.add``); the others
serve the old value meanwhile. Counters are kept in the cache too, so the
dashboard and ``cache_stats`` see every process's numbers.

Upstream calls spend a request budget shared by every process (a token
bucket in the cache, below the exchange's published limits). A 429 or a
temporary failure puts the whole source into back-off (exponential, with
jitter, shared through the cache); while backing off, reads serve the last
good value (a ticker then says ``stale=True``) and only fail when there is
nothing cached at all.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import caches

from market.exchange import MarketData, RateLimited, TemporaryError
from market.ratelimit import TokenBucket
from market.types import Candles, Granularity, Product, Ticker, UnknownProduct

log = logging.getLogger(__name__)

STAT_NAMES = ("hits", "misses", "stale_served", "upstream_calls", "rate_limited", "errors", "backoffs")
PRODUCTS_TTL = timedelta(hours=6)
MAX_CACHED_CANDLES = 1500
LOCK_SECONDS = 10
COUNTER_FLUSH_SECONDS = 1.0


class BackingOff(TemporaryError):
    """The source is in back-off after failures and nothing cached can stand in."""


@dataclass(frozen=True)
class _Entry:
    fetched_at: float  # market time, UNIX seconds
    value: object
    # For candles: the earliest start the source was asked for while building this
    # series. A request from there on is covered even where the market has no
    # older candles (a young market, a new listing), so it is not refetched.
    since: float | None = None


class CachedMarketData:
    """A ``MarketData`` in front of another, with a shared cache."""

    def __init__(
        self,
        source: MarketData,
        *,
        cache_alias: str = "default",
        ttl: float | None = None,
        rate: int | None = None,
        wall=time.time,
        sleep=time.sleep,
    ) -> None:
        self.source = source
        self.name = source.name
        self.cache = caches[cache_alias]
        self.ttl = settings.MARKET_DATA_TTL_SECONDS if ttl is None else ttl
        self.prefix = f"md:{source.name}"
        # A per-process copy of shared entries: it serves an entry only while
        # the same freshness rules hold, so it saves round trips to the shared
        # cache without ever serving something the shared cache would not.
        self._local: dict[str, _Entry] = {}
        self._pending: Counter[str] = Counter()
        self._flushed_at = time.monotonic()
        self.wall = wall
        # Only a remote source has a budget to respect; the simulated market has none.
        rate = rate or (settings.MARKET_DATA_RATE_LIMIT if getattr(source, "remote", False) else None)
        self.limiter = (
            TokenBucket(self.cache, f"{source.name}-public", rate=rate, wall=wall, sleep=sleep) if rate else None
        )

    # --- the port -----------------------------------------------------------
    def now(self) -> datetime:
        return self.source.now()

    def products(self) -> list[Product]:
        key = f"{self.prefix}:products"
        now = self._now_ts()

        def fresh(e: _Entry) -> bool:
            return now - e.fetched_at < PRODUCTS_TTL.total_seconds()

        entry = self._read(key, fresh)
        if entry is not None and fresh(entry):
            self._count("hits")
            return entry.value
        self._count("misses")
        try:
            products = self._upstream(self.source.products)
        except TemporaryError:
            if entry is None:
                raise
            self._count("stale_served")
            return entry.value
        self._write(key, _Entry(now, products))
        return products

    def product(self, product_id: str) -> Product:
        for p in self.products():
            if p.product_id == product_id:
                return p
        raise UnknownProduct(product_id, [p.product_id for p in self.products()])

    def ticker(self, product_id: str) -> Ticker:
        key = f"{self.prefix}:ticker:{product_id}"
        ttl = min(self.ttl, settings.MARKET_TICKER_TTL_SECONDS)
        now = self._now_ts()

        def fresh(e: _Entry) -> bool:
            return now - e.fetched_at < ttl

        entry = self._read(key, fresh)
        if entry is not None and fresh(entry):
            self._count("hits")
            return entry.value
        self._count("misses")
        try:
            ticker = self._upstream(self.source.ticker, product_id)
        except TemporaryError:
            if entry is None:
                raise
            self._count("stale_served")
            return dataclasses.replace(entry.value, stale=True)
        self._write(key, _Entry(now, ticker))
        return ticker

    def candles(self, product_id: str, granularity: Granularity, start: datetime, end: datetime) -> Candles:
        key = f"{self.prefix}:candles:{product_id}:{granularity.short}"
        now = self._now_ts()
        start_ts, end_ts = start.timestamp(), min(end.timestamp(), now)

        def usable(e: _Entry) -> bool:
            return self._covers(e, start_ts, granularity) and self._fresh(e, now, granularity)

        entry = self._read(key, usable)
        if entry is not None and usable(entry):
            self._count("hits")
            return _slice(entry.value, start_ts, end_ts, granularity)
        lock = f"{key}:refresh"
        if (
            entry is not None
            and self._covers(entry, start_ts, granularity)
            and not self.cache.add(lock, 1, LOCK_SECONDS)
        ):
            # Another caller is refreshing this entry: serve what we have.
            self._count("stale_served")
            return _slice(entry.value, start_ts, end_ts, granularity)
        if entry is not None:
            # We hold the lock now; another process may have refreshed just before.
            latest = self.cache.get(key)
            if latest is not None and usable(latest):
                self.cache.delete(lock)
                self._local[key] = latest
                self._count("hits")
                return _slice(latest.value, start_ts, end_ts, granularity)
        self._count("misses")
        try:
            series, since = self._refresh(entry, product_id, granularity, start, now)
            self._write(key, _Entry(now, series, since))
        except TemporaryError:
            if entry is None or not self._covers(entry, start_ts, granularity):
                raise
            self._count("stale_served")
            series = entry.value
        finally:
            self.cache.delete(lock)
        return _slice(series, start_ts, end_ts, granularity)

    def put_ticker(self, ticker: Ticker) -> None:
        """Store a ticker pushed by the market stream, so reads need no REST call."""
        self._write(f"{self.prefix}:ticker:{ticker.product_id}", _Entry(self._now_ts(), ticker))

    def history(self, product_id: str, granularity: Granularity, start: datetime, end: datetime) -> Candles:
        """A one-off read of older candles for storage: upstream, within the budget, not cached."""
        return self._upstream(self.source.candles, product_id, granularity, start, end)

    # --- statistics ---------------------------------------------------------
    def stats(self) -> dict[str, float]:
        self._flush()
        values = self.cache.get_many([f"{self.prefix}:stat:{n}" for n in STAT_NAMES])
        out = {n: int(values.get(f"{self.prefix}:stat:{n}", 0)) for n in STAT_NAMES}
        reads = out["hits"] + out["misses"] + out["stale_served"]
        out["hit_rate"] = (out["hits"] + out["stale_served"]) / reads if reads else 0.0
        backoff = self.cache.get(self._backoff_key) or {}
        until = backoff.get("until", 0.0)
        out["backing_off"] = until > self.wall()
        out["backoff_seconds_left"] = max(0.0, until - self.wall())
        out["consecutive_failures"] = backoff.get("failures", 0)
        out["rate_limit_per_second"] = self.limiter.rate if self.limiter else None
        out["rate_limit_used_this_second"] = self.limiter.used() if self.limiter else 0
        return out

    def stats_reset(self) -> None:
        self._pending.clear()
        self.cache.delete_many([f"{self.prefix}:stat:{n}" for n in STAT_NAMES])

    # --- internals ----------------------------------------------------------
    def _now_ts(self) -> float:
        return self.source.now().timestamp()

    def _fresh(self, entry: _Entry, now: float, granularity: Granularity) -> bool:
        """Fresh while within the TTL and no newer candle can have closed."""
        if now - entry.fetched_at >= self.ttl:
            return False
        series: Candles = entry.value
        g = granularity.seconds
        last_complete_open = (int(now) // g) * g - g
        return len(series) > 0 and int(series.time[-1]) >= last_complete_open

    @staticmethod
    def _covers(entry: _Entry, start_ts: float, granularity: Granularity) -> bool:
        series: Candles = entry.value
        if len(series) == 0:
            return False
        # The source's first candle opens at or after start_ts, less than one granularity later;
        # a series that starts a whole candle later lacks it, unless the source had none older.
        return series.time[0] < start_ts + granularity.seconds or (entry.since is not None and entry.since <= start_ts)

    def _refresh(
        self, entry: _Entry | None, product_id: str, granularity: Granularity, start: datetime, now: float
    ) -> tuple[Candles, float | None]:
        """The refreshed series and the earliest start it answers for (None once truncated)."""
        end = datetime.fromtimestamp(now, tz=UTC)
        if entry is not None and self._covers(entry, start.timestamp(), granularity):
            cached: Candles = entry.value
            last = datetime.fromtimestamp(int(cached.time[-1]), tz=UTC)
            newer = self._upstream(self.source.candles, product_id, granularity, last, end)
            merged, since = cached.concat(newer), entry.since
        else:
            merged = self._upstream(self.source.candles, product_id, granularity, start, end)
            since = start.timestamp()
        if len(merged) > MAX_CACHED_CANDLES:
            return merged.tail(MAX_CACHED_CANDLES), None
        return merged, since

    @property
    def _backoff_key(self) -> str:
        return f"{self.prefix}:backoff"

    def _upstream(self, fn, *args):
        """Call the source within the shared budget, honouring and updating the back-off."""
        backoff = self.cache.get(self._backoff_key) or {}
        left = backoff.get("until", 0.0) - self.wall()
        if left > 0:
            raise BackingOff(f"{self.name} market data is backing off for {left:.1f} s after failures")
        try:
            if self.limiter is not None:
                self.limiter.acquire()
        except RateLimited:
            self._count("rate_limited")
            raise
        self._count("upstream_calls")
        started = time.perf_counter()
        try:
            value = fn(*args)
        except TemporaryError as exc:
            self._count("rate_limited" if isinstance(exc, RateLimited) else "errors")
            self._back_off(backoff.get("failures", 0) + 1, exc)
            raise
        except Exception:
            self._count("errors")
            raise
        finally:
            log.debug("upstream %s%s took %.1f ms", fn.__name__, args[:1], (time.perf_counter() - started) * 1000)
        if backoff:
            self.cache.delete(self._backoff_key)
        return value

    def _back_off(self, failures: int, exc: Exception) -> None:
        delay = min(settings.BACKOFF_MAX_SECONDS, settings.BACKOFF_BASE_SECONDS * 2 ** (failures - 1))
        delay *= random.uniform(0.5, 1.0)  # jitter spreads the retries of many processes
        self.cache.set(self._backoff_key, {"until": self.wall() + delay, "failures": failures}, None)
        self._count("backoffs")
        log.warning("%s market data: %s; backing off %.1f s (failure %d)", self.name, exc, delay, failures)

    def _read(self, key: str, usable) -> _Entry | None:
        """This process's copy if still usable, else the shared cache's entry."""
        entry = self._local.get(key)
        if entry is not None and usable(entry):
            return entry
        entry = self.cache.get(key)
        if entry is not None:
            self._local[key] = entry
        return entry

    def _write(self, key: str, entry: _Entry) -> None:
        self.cache.set(key, entry, None)
        self._local[key] = entry

    def _count(self, name: str) -> None:
        """Count locally; add to the shared counters about once a second."""
        self._pending[name] += 1
        if time.monotonic() - self._flushed_at >= COUNTER_FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, Counter()
        self._flushed_at = time.monotonic()
        for name, n in pending.items():
            key = f"{self.prefix}:stat:{name}"
            try:
                self.cache.incr(key, n)
            except ValueError:
                if not self.cache.add(key, n, None):
                    self.cache.incr(key, n)


def _slice(series: Candles, start_ts: float, end_ts: float, granularity: Granularity) -> Candles:
    lo = int(series.time.searchsorted(start_ts, side="left"))
    hi = int(series.time.searchsorted(end_ts - granularity.seconds, side="right"))
    return series[lo:hi]
