"""A seeded, realistic market: candles and tickers with no network.

Each product follows a path of prices every 10 seconds from ``epoch``. The path
switches between regimes (up-trend, down-trend, a mean-reverting range and
volatility bursts); its volatility wanders, so calm and wild hours cluster; its
innovations are fat-tailed with rare jumps; and a shared market factor makes
the coins move together, as they do. Prices are a pure function of (seed,
epoch, product, time): every process built with the same seed and epoch quotes
the same prices, which is what lets the web server, the runner and the workers
share one simulated market.

The path is generated a day (a chunk) at a time, in order from the epoch. Each
chunk draws from a generator seeded by (seed, product, chunk index) and starts
from the state the previous chunk ended in. Chunks are cached; an evicted chunk
is rebuilt from its saved start state without replaying the days before it.
"""

from __future__ import annotations

import enum
import math
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from market.clock import Clock, unix_seconds
from market.types import Candles, Granularity, Product, Ticker, UnknownProduct, quantize_down, quantize_up

STEP = 10  # seconds between two points of the path
CHUNK_STEPS = 86_400 // STEP
BLOCK = 30  # steps per 5-minute block: regimes and volatility change at block boundaries
BLOCKS = CHUNK_STEPS // BLOCK
MAX_CACHED_CHUNKS = 400  # about 55 MB; 9 products x 44 days


class Regime(enum.IntEnum):
    RANGE = 0
    UP = 1
    DOWN = 2
    BURST = 3


# Per regime: mean length in 5-minute blocks, drift per block in units of the
# block's own volatility, volatility multiplier, and where it goes next
# (cumulative probabilities over RANGE, UP, DOWN, BURST).
_MEAN_BLOCKS = (96, 72, 60, 9)
_DRIFT = (0.0, 0.08, -0.08, 0.0)
_VOL = (0.7, 1.0, 1.15, 2.8)
_NEXT = (
    (0.0, 0.35, 0.70, 1.0),
    (0.5, 0.5, 0.70, 1.0),
    (0.5, 0.70, 0.70, 1.0),
    (0.4, 0.70, 1.0, 1.0),
)
_RANGE_PULL = 0.03  # share of the distance to the range's centre closed per block (half-life ~2 h)
_LOGVOL_PHI = math.exp(-1 / 72)  # log-volatility AR(1) per block: half-life ~4 h
_LOGVOL_SD = 0.4
_LOGVOL_INNOV = _LOGVOL_SD * math.sqrt(1 - _LOGVOL_PHI**2)
_MARKET_LOADING = 0.85  # pairwise return correlation up to 0.85**2
_TAIL_DF = 4  # Student-t degrees of freedom of the coins' own noise
_JUMP_RATE = 4 / CHUNK_STEPS  # about four jumps a day
_JUMP_SD = 3.0 * math.sqrt(BLOCK)  # a jump is worth about three 5-minute moves
_MARKET_KEY = zlib.crc32(b"market")


@dataclass(frozen=True)
class _Spec:
    product: Product
    price: float  # at the epoch
    daily_vol: float  # typical standard deviation of a day's log return
    spread: Decimal  # bid-ask spread as a fraction of the price
    daily_volume: float  # base units traded on a typical day


@dataclass(frozen=True)
class _State:
    log_price: float
    log_vol: float
    regime: Regime
    anchor: float  # log price the current range reverts to


def _spec(
    base: str,
    price: float,
    daily_vol: float,
    spread_bps: str,
    volume: float,
    base_inc: str,
    price_inc: str,
    base_max: str,
) -> _Spec:
    product = Product(
        product_id=f"{base}-USD",
        base_currency=base,
        quote_currency="USD",
        base_increment=Decimal(base_inc),
        quote_increment=Decimal(price_inc),
        price_increment=Decimal(price_inc),
        base_min_size=Decimal(base_inc),
        base_max_size=Decimal(base_max),
        quote_min_size=Decimal("1"),
        quote_max_size=Decimal("50000000"),
    )
    return _Spec(product, price, daily_vol, Decimal(spread_bps) / 10_000, volume)


# Prices of 2025; increments and minimums as Coinbase lists them for these pairs.
# The market lists the first SIM_PAIRS of this catalog (nine by default); the
# order never changes, and a pair's path depends only on the seed and its own
# id, so listing more pairs leaves the first nine's prices as they were.
_SPECS = {
    s.product.product_id: s
    for s in (
        _spec("BTC", 95_000, 0.025, "1", 12_000, "0.00000001", "0.01", "3400"),
        _spec("ETH", 3_400, 0.034, "1.5", 250_000, "0.00000001", "0.01", "38000"),
        _spec("SOL", 180, 0.045, "2", 3_000_000, "0.00000001", "0.01", "75000"),
        _spec("XRP", 2.3, 0.045, "2.5", 150_000_000, "0.000001", "0.0001", "7000000"),
        _spec("ADA", 0.9, 0.05, "3", 100_000_000, "0.00000001", "0.0001", "10000000"),
        _spec("DOGE", 0.3, 0.055, "3", 800_000_000, "0.1", "0.00001", "60000000"),
        _spec("LTC", 100, 0.04, "3", 500_000, "0.00000001", "0.01", "50000"),
        _spec("LINK", 20, 0.05, "3", 1_000_000, "0.01", "0.001", "600000"),
        _spec("AVAX", 35, 0.055, "3", 700_000, "0.00000001", "0.01", "150000"),
        _spec("BCH", 450, 0.04, "3", 60_000, "0.00000001", "0.01", "12000"),
        _spec("DOT", 6.5, 0.05, "4", 4_000_000, "0.00000001", "0.001", "1500000"),
        _spec("UNI", 10, 0.055, "4", 1_500_000, "0.000001", "0.001", "400000"),
        _spec("ATOM", 6, 0.05, "4", 1_200_000, "0.01", "0.001", "500000"),
        _spec("XLM", 0.35, 0.045, "4", 90_000_000, "1", "0.000001", "20000000"),
        _spec("NEAR", 4.5, 0.06, "5", 3_000_000, "0.001", "0.001", "1000000"),
        _spec("AAVE", 250, 0.055, "4", 60_000, "0.001", "0.01", "15000"),
        _spec("FIL", 4, 0.055, "5", 2_500_000, "0.001", "0.001", "1000000"),
        _spec("ALGO", 0.3, 0.055, "5", 40_000_000, "0.1", "0.0001", "25000000"),
        _spec("ETC", 25, 0.05, "4", 400_000, "0.00000001", "0.01", "100000"),
        _spec("HBAR", 0.25, 0.06, "5", 150_000_000, "0.01", "0.00001", "50000000"),
    )
}
DEFAULT_PAIRS = 9
MAX_PAIRS = len(_SPECS)


def _generate(seed: int, spec: _Spec, index: int, start: _State) -> tuple[tuple[np.ndarray, np.ndarray], _State]:
    """One day of the path (prices and volumes) from ``start``, and the state it ends in."""
    key = zlib.crc32(spec.product.product_id.encode())
    rng = np.random.default_rng((seed, key, index))
    market = np.random.default_rng((seed, _MARKET_KEY, index)).standard_normal(CHUNK_STEPS)
    own = rng.standard_t(_TAIL_DF, CHUNK_STEPS) * math.sqrt((_TAIL_DF - 2) / _TAIL_DF)
    z = _MARKET_LOADING * market + math.sqrt(1 - _MARKET_LOADING**2) * own
    u_switch, u_next = rng.random(BLOCKS).tolist(), rng.random(BLOCKS).tolist()
    e_vol = rng.standard_normal(BLOCKS).tolist()
    jumps = rng.random(CHUNK_STEPS) < _JUMP_RATE
    z[jumps] += rng.normal(0.0, _JUMP_SD, int(jumps.sum()))

    # Regimes and volatility evolve per 5-minute block; a short scalar loop, since
    # the range's pull depends on where the price has got to.
    step_sigma = spec.daily_vol / math.sqrt(CHUNK_STEPS)
    block_noise = z.reshape(BLOCKS, BLOCK).sum(axis=1).tolist()
    sigma, drift = [0.0] * BLOCKS, [0.0] * BLOCKS
    log_price, log_vol, regime, anchor = start.log_price, start.log_vol, start.regime, start.anchor
    for k in range(BLOCKS):
        if u_switch[k] * _MEAN_BLOCKS[regime] < 1:
            regime = Regime(next(i for i, p in enumerate(_NEXT[regime]) if u_next[k] < p))
            anchor = log_price
        log_vol = _LOGVOL_PHI * log_vol + _LOGVOL_INNOV * e_vol[k]
        s = step_sigma * _VOL[regime] * math.exp(log_vol - _LOGVOL_SD**2)
        if regime is Regime.RANGE:
            d = -_RANGE_PULL * (log_price - anchor) / BLOCK
        else:
            d = _DRIFT[regime] * s / math.sqrt(BLOCK)
        log_price += d * BLOCK + s * block_noise[k]
        sigma[k], drift[k] = s, d

    step_sig = np.repeat(sigma, BLOCK)
    path = start.log_price + np.cumsum(np.repeat(drift, BLOCK) + step_sig * z)
    # Volume follows volatility: heavier in bursts and on the big moves.
    volume = spec.daily_volume / CHUNK_STEPS * (step_sig / step_sigma) * (0.2 + np.abs(z))
    prices = np.exp(path)
    prices.flags.writeable = volume.flags.writeable = False
    return (prices, volume), _State(float(path[-1]), log_vol, regime, anchor)


class SimulatedMarket:
    """The market data port over the simulated price paths of nine (up to twenty) USD pairs.

    ``pairs`` is how many pairs of the catalog the market lists (``products()``);
    every pair of the catalog can be quoted, so a sample or a backtest built
    without the setting still knows a pair the live market lists.
    """

    name = "simulated"

    def __init__(self, seed: int, epoch: datetime, clock: Clock, *, pairs: int = DEFAULT_PAIRS) -> None:
        if not 1 <= pairs <= MAX_PAIRS:
            raise ValueError(f"the simulated market lists 1 to {MAX_PAIRS} pairs, not {pairs}")
        self.seed = seed % 2**64
        self.pairs = pairs
        self._t0 = math.floor(unix_seconds(epoch, "epoch"))
        self.epoch = datetime.fromtimestamp(self._t0, UTC)
        self.clock = clock
        self._lock = threading.Lock()
        self._starts = {
            pid: [_State(math.log(s.price), 0.0, Regime.RANGE, math.log(s.price))] for pid, s in _SPECS.items()
        }
        self._chunks: OrderedDict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def now(self) -> datetime:
        return self.clock.now()

    def products(self) -> list[Product]:
        return [s.product for s in list(_SPECS.values())[: self.pairs]]

    def product(self, product_id: str) -> Product:
        return self._spec(product_id).product

    def candles(self, product_id: str, granularity: Granularity | str, start: datetime, end: datetime) -> Candles:
        """Complete candles with open time in [start, end - granularity], none after ``now()``.

        Candles open on multiples of the granularity in UNIX time, and never before the epoch.
        """
        self._spec(product_id)
        g = Granularity.parse(granularity).seconds
        first = max(math.ceil(unix_seconds(start, "start") / g), math.ceil(self._t0 / g)) * g
        limit = min(unix_seconds(end, "end"), unix_seconds(self.now(), "now"))
        last = math.floor((limit - g) / g) * g
        if last < first:
            return Candles.empty()
        n, per = (last - first) // g + 1, g // STEP
        i0 = -((self._t0 - first) // STEP)  # first point at or after the first open
        prices, volume = self._points(product_id, i0, i0 + n * per)
        p = prices.reshape(n, per)
        return Candles(
            first + g * np.arange(n, dtype=np.int64),
            p[:, 0].copy(),
            p.max(axis=1),
            p.min(axis=1),
            p[:, -1].copy(),
            volume.reshape(n, per).sum(axis=1),
        )

    def ticker(self, product_id: str) -> Ticker:
        """Best bid and ask at ``now()`` around the path's price, a few bps apart."""
        spec = self._spec(product_id)
        now = self.now()
        price = self.price_at(product_id, now)
        inc = spec.product.price_increment
        half = price * spec.spread / 2
        return Ticker(product_id, quantize_down(price - half, inc), quantize_up(price + half, inc), price, now)

    def price_at(self, product_id: str, t: datetime) -> Decimal:
        """The path's last point at or before ``t``; a pure function of time, so it ignores the clock."""
        inc = self._spec(product_id).product.price_increment
        i = math.floor((unix_seconds(t, "t") - self._t0) / STEP)
        if i < 0:
            raise ValueError(f"{t.isoformat()} is before the simulated market's epoch {self.epoch.isoformat()}")
        value = self._points(product_id, i, i + 1)[0][0]
        return Decimal(float(value)).quantize(inc, rounding=ROUND_HALF_EVEN)

    def _spec(self, product_id: str) -> _Spec:
        try:
            return _SPECS[product_id]
        except KeyError:
            raise UnknownProduct(product_id, _SPECS) from None

    def _points(self, product_id: str, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
        """Prices and volumes of path points ``i0`` to ``i1`` (exclusive)."""
        parts = []
        for k in range(i0 // CHUNK_STEPS, (i1 - 1) // CHUNK_STEPS + 1):
            lo, hi = max(i0 - k * CHUNK_STEPS, 0), min(i1 - k * CHUNK_STEPS, CHUNK_STEPS)
            prices, volume = self._chunk(product_id, k)
            parts.append((prices[lo:hi], volume[lo:hi]))
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p for p, _ in parts]), np.concatenate([v for _, v in parts])

    def _chunk(self, product_id: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            data = self._chunks.get((product_id, k))
            if data is not None:
                self._chunks.move_to_end((product_id, k))
                return data
            starts = self._starts[product_id]
            while len(starts) <= k:
                self._build(product_id, len(starts) - 1)
            return self._build(product_id, k)

    def _build(self, product_id: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        starts = self._starts[product_id]
        data, end = _generate(self.seed, _SPECS[product_id], k, starts[k])
        if k == len(starts) - 1:
            starts.append(end)
        self._chunks[(product_id, k)] = data
        while len(self._chunks) > MAX_CACHED_CHUNKS:
            self._chunks.popitem(last=False)
        return data
