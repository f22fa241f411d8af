"""Building the configured market and exchange, and syncing products.

``get_market_data()`` and ``get_exchange()`` are the only places that read
MARKET_DATA / TRADING_MODE; the rest of the system receives the port objects.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from market.cache import CachedMarketData
from market.clock import OffsetClock, ScaledClock
from market.exchange import Exchange, MarketData
from market.models import Product, SimulatedMarketState
from market.types import Balance, order_mode

log = logging.getLogger(__name__)
_lock = threading.Lock()
REPLAY_WARMUP_CANDLES = 300
RESERVE_WALL_SECONDS = 10.0  # simulated market time a process reserves ahead, in wall seconds
_market: CachedMarketData | None = None


def sim_state_get() -> SimulatedMarketState:
    """The shared anchor of the simulated clock, created on first use.

    A change of SIM_SPEED re-anchors at the current market time, so market
    time never jumps; a change of SIM_SEED starts a new market, at a market
    time no earlier than the old one reached.
    """
    wall = time.time()
    with transaction.atomic():
        state = SimulatedMarketState.objects.select_for_update().order_by("pk").first()
        if state is None or state.seed != settings.SIM_SEED:
            now = datetime.fromtimestamp(wall, tz=UTC).replace(microsecond=0)
            if state is not None and state.high_water is not None:
                now = max(now, state.high_water)
            epoch = (now - timedelta(days=settings.SIM_HISTORY_DAYS)).replace(hour=0, minute=0, second=0)
            SimulatedMarketState.objects.all().delete()
            state = SimulatedMarketState.objects.create(
                seed=settings.SIM_SEED, epoch=epoch, anchor_wall=wall, anchor_market=now, speed=settings.SIM_SPEED
            )
        elif state.speed != settings.SIM_SPEED:
            market_now = ScaledClock(state.anchor_wall, state.anchor_market, state.speed).now()
            state.anchor_wall, state.anchor_market, state.speed = wall, market_now, settings.SIM_SPEED
            state.save()
    return state


class SimulatedClock:
    """The simulated market's clock in one process: the shared anchor, and no time used before it is reserved.

    Several processes stamp market time on rows (orders, fills, events) and
    any of them may be killed at any moment. Before handing out a time past
    its reservation, a process raises the shared ``high_water`` ahead of it
    (one small write per RESERVE_WALL_SECONDS while it reads the clock) and
    takes up the anchor it finds, so every market time any process ever used
    is at most the committed ``high_water``. The market stands still while
    nothing runs: when no process has read the clock for five evaluation
    intervals (a stop or a crash), the next reader resumes it from
    ``high_water``, which is later than anything already stamped.
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._current: tuple[ScaledClock, datetime] | None = None  # the anchor taken up, and the time reserved

    def now(self) -> datetime:
        current = self._current
        if current is not None:
            t = current[0].now()
            if t <= current[1]:
                return t
        return self._reserve()

    def _reserve(self) -> datetime:
        resume_after = timedelta(seconds=5 * settings.EVALUATION_INTERVAL_SECONDS)
        with transaction.atomic():
            state = SimulatedMarketState.objects.select_for_update().order_by("pk").first()
            if state is None:
                state = sim_state_get()
            wall = self._wall()
            clock = ScaledClock(state.anchor_wall, state.anchor_market, state.speed, self._wall)
            t = clock.now()
            high = state.high_water
            if high is not None and t - high > resume_after * state.speed:
                log.info("simulated market resumed at %s, its reserved time when everything stopped", high)
                clock = ScaledClock(wall, high, state.speed, self._wall)
                state.anchor_wall, state.anchor_market, t = wall, high, high
            reserved = t + timedelta(seconds=RESERVE_WALL_SECONDS * state.speed)
            state.high_water = reserved if high is None else max(high, reserved)
            state.save(update_fields=["anchor_wall", "anchor_market", "high_water"])
            # Only a committed reservation covers later reads (an outer transaction may roll back).
            transaction.on_commit(lambda: setattr(self, "_current", (clock, reserved)))
        return t


def _build_source() -> MarketData:
    if settings.MARKET_DATA == "simulated":
        from market.simulated import SimulatedMarket

        state = sim_state_get()
        clock = SimulatedClock()
        sim = SimulatedMarket(seed=state.seed, epoch=state.epoch, clock=clock, pairs=settings.SIM_PAIRS)
        if settings.SIM_CSV:
            from market.replay import ReplayMarket, load_csv
            from market.types import Granularity

            # Replay real candles under the simulated product's increments,
            # starting after enough history to warm up every indicator.
            candles = load_csv(settings.SIM_CSV)
            granularity = Granularity.parse(settings.SIM_CSV_GRANULARITY)
            start = datetime.fromtimestamp(int(candles.time[0]), tz=UTC) + granularity.delta * REPLAY_WARMUP_CANDLES
            # The replay runs on the simulated clock, shifted once: it stands still and resumes with it.
            replay_clock = OffsetClock(clock, start - (state.epoch + timedelta(days=settings.SIM_HISTORY_DAYS)))
            return ReplayMarket(sim.product(settings.SIM_CSV_PRODUCT), candles, granularity, replay_clock)
        return sim
    from market.coinbase import CoinbaseMarketData

    return CoinbaseMarketData.from_settings()


def get_market_data() -> CachedMarketData:
    """The process's market-data service: the configured source behind the cache."""
    global _market
    with _lock:
        if _market is None:
            _market = CachedMarketData(_build_source())
        return _market


def market_reset() -> None:
    """Forget the process's market (tests, re-anchoring)."""
    market_use(None)


def market_use(market: CachedMarketData | None) -> None:
    """Make ``market`` the process's market data (tests, replays, the backtester's live twin)."""
    global _market
    with _lock:
        _market = market
        _exchanges.clear()


def get_exchange(*, live: bool = False) -> Exchange:
    """The exchange a bot trades on: paper unless live is allowed and asked for."""
    mode = trading_mode_for(live=live)
    if mode == "live":
        refuse_live_on_simulated_prices()
    return _build_exchange(mode)


def trading_mode_for(*, live: bool) -> str:
    """``live`` when a bot's live switch is on and TRADING_MODE=live allows it, else ``paper``."""
    return order_mode(live_switch=live, trading_mode=settings.TRADING_MODE)


def _build_exchange(mode: str) -> Exchange:
    if mode == "live":
        from market.coinbase import CoinbaseExchange

        return CoinbaseExchange.from_settings()
    if mode != "paper":
        raise ValueError(f"an order's mode is 'paper' or 'live', got {mode!r}")
    from market.paper import PaperExchange

    return PaperExchange(
        get_market_data(), fee_rate=settings.PAPER_FEE_RATE, slippage_rate=settings.PAPER_SLIPPAGE_RATE
    )


_exchanges: dict[str, Exchange] = {}


def exchange_for(bot) -> Exchange:
    """The exchange a bot's next order goes to (its ``live`` switch and TRADING_MODE decide)."""
    mode = trading_mode_for(live=bool(bot.live))
    if mode == "live":
        refuse_live_on_simulated_prices()
    return shared_exchange(mode=mode)


def exchange_for_mode(mode: str) -> Exchange:
    """The exchange an order was sent to, by the order's own ``mode``.

    An order is looked up and reconciled where it went, whatever its bot's
    switch or TRADING_MODE say now: a live order is asked of Coinbase even in
    paper mode (reads only), and without credentials that raises
    ``CredentialsError`` rather than asking the paper wallet, which would
    write off a fill it never saw.
    """
    return shared_exchange(mode=mode)


def shared_exchange(*, mode: str) -> Exchange:
    """The exchange of ``mode``, built once per process (its HTTPS session and fee rate are reused)."""
    with _lock:
        exchange = _exchanges.get(mode)
    if exchange is None:
        exchange = _build_exchange(mode)
        with _lock:
            _exchanges[mode] = exchange
    return exchange


def refuse_live_on_simulated_prices() -> None:
    """Real orders are never decided on simulated prices (checked by settings, the runner and here)."""
    from autotrader.env import live_market_problem

    problem = live_market_problem(settings.TRADING_MODE, settings.MARKET_DATA)
    if problem:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(problem)


# --- balances for screens ----------------------------------------------------
DISPLAY_BALANCES_SECONDS = 10.0
_DISPLAY_KEY = "autotrader:display-balances"


@dataclass(frozen=True)
class ShownBalances:
    """The account's balances as a screen shows them: when they were read, and why not, if not."""

    balances: dict[str, Balance]
    read_at: datetime | None  # wall clock, UTC; None when never read
    error: str  # "" when the last read succeeded


def balances_for_display() -> ShownBalances:
    """The balances the dashboard shows, read from Coinbase at most every ``DISPLAY_BALANCES_SECONDS``.

    Every open dashboard polls the portfolio every 5 s. In live mode each poll
    would otherwise be a signed request to Coinbase that holds a web process
    for a round trip (or a timeout while Coinbase is slow). One process reads
    at a time (a lock through ``cache.add``) and every process shows what it
    read; a failed read keeps the last good balances with the reason. Paper
    balances are rows in this database: read directly, always current. Orders
    never use this: they read the exchange themselves.
    """
    live = settings.TRADING_MODE == "live"
    if not live:
        return _read_balances(live=False, last=None)
    from django.core.cache import cache

    try:
        entry = cache.get(_DISPLAY_KEY)
        if entry is not None and time.time() - entry["checked_at"] < DISPLAY_BALANCES_SECONDS:
            return entry["shown"]
        if not cache.add(f"{_DISPLAY_KEY}:lock", 1, timeout=int(settings.COINBASE_TIMEOUT_SECONDS * 3) + 5):
            # Another process is reading them now: show the last read (or say they are on their way).
            return entry["shown"] if entry is not None else ShownBalances({}, None, "balances loading")
    except Exception:  # the shared cache is down: read directly rather than show nothing
        return _read_balances(live=True, last=None)
    try:
        shown = _read_balances(live=True, last=entry["shown"] if entry is not None else None)
        cache.set(_DISPLAY_KEY, {"checked_at": time.time(), "shown": shown}, None)
        return shown
    finally:
        cache.delete(f"{_DISPLAY_KEY}:lock")


def _read_balances(*, live: bool, last: ShownBalances | None) -> ShownBalances:
    try:
        return ShownBalances(shared_exchange(mode="live" if live else "paper").balances(), datetime.now(UTC), "")
    except Exception as exc:  # the exchange being down must not take the screen with it
        error = f"balances unavailable ({type(exc).__name__})"
        return ShownBalances(last.balances, last.read_at, error) if last else ShownBalances({}, None, error)


def products_sync() -> int:
    """Copy the market's product list into the Product table; returns the count."""
    market = get_market_data()
    now = datetime.now(tz=UTC)
    specs = market.products()
    with transaction.atomic():
        for spec in specs:
            Product.objects.update_or_create(
                product_id=spec.product_id,
                defaults={
                    "base_currency": spec.base_currency,
                    "quote_currency": spec.quote_currency,
                    "base_increment": spec.base_increment,
                    "quote_increment": spec.quote_increment,
                    "price_increment": spec.price_increment,
                    "base_min_size": spec.base_min_size,
                    "base_max_size": spec.base_max_size,
                    "quote_min_size": spec.quote_min_size,
                    "quote_max_size": spec.quote_max_size,
                    "trading_disabled": spec.trading_disabled,
                    "cancel_only": spec.cancel_only,
                    "limit_only": spec.limit_only,
                    "post_only": spec.post_only,
                    "source": market.name,
                    "synced_at": now,
                },
            )
    return len(specs)


HISTORY_CHUNK_CANDLES = 300


def candles_fetch_history(*, product_id: str, granularity, start: datetime, end: datetime) -> tuple[int, int]:
    """Store the candles of [start, end) that are not stored yet; returns (fetched, added).

    Idempotent: only the missing stretches are requested, in chunks of at most
    300 candles (one request each, within the shared request budget).
    """
    from decimal import Decimal

    from market.models import Candle

    g = granularity.seconds
    start_ts = (int(start.timestamp()) // g) * g
    end_ts = (int(end.timestamp()) // g) * g
    have = set(
        int(t.timestamp())
        for t in Candle.objects.filter(
            product_id=product_id,
            granularity=granularity.short,
            time__gte=datetime.fromtimestamp(start_ts, tz=UTC),
            time__lt=datetime.fromtimestamp(end_ts, tz=UTC),
        ).values_list("time", flat=True)
    )
    missing = [t for t in range(start_ts, end_ts, g) if t not in have]
    market = get_market_data()
    fetched = added = 0
    i = 0
    while i < len(missing):
        chunk_start = missing[i]
        chunk_end = min(chunk_start + HISTORY_CHUNK_CANDLES * g, end_ts)
        series = market.history(
            product_id,
            granularity,
            datetime.fromtimestamp(chunk_start, tz=UTC),
            datetime.fromtimestamp(chunk_end, tz=UTC),
        )
        fetched += len(series)
        rows = [
            Candle(
                product_id=product_id,
                granularity=granularity.short,
                time=datetime.fromtimestamp(int(t), tz=UTC),
                open=Decimal(repr(float(o))),
                high=Decimal(repr(float(h))),
                low=Decimal(repr(float(lo))),
                close=Decimal(repr(float(c))),
                volume=Decimal(repr(float(v))),
            )
            for t, o, h, lo, c, v in zip(series.time, series.open, series.high, series.low, series.close, series.volume)
            if int(t) not in have
        ]
        before = Candle.objects.filter(product_id=product_id, granularity=granularity.short).count()
        Candle.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        added += Candle.objects.filter(product_id=product_id, granularity=granularity.short).count() - before
        while i < len(missing) and missing[i] < chunk_end:
            i += 1
    return fetched, added
