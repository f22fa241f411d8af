"""A market over a fixed series of real candles, for backtests and replays.

At market time ``t`` the replay tells a client only what a live client could
know at ``t``: the candles that had closed by then, and as the current price
the open of the candle ``t`` falls in (its high, low and close lie in the
future). Backtest and live trading can then run the same code on the same port
without the backtest peeking ahead.
"""

from __future__ import annotations

import csv
import gzip
import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np

from market.clock import Clock, unix_seconds
from market.types import Candles, Granularity, Product, Ticker, UnknownProduct, quantize_down, quantize_up

COLUMNS = ("time", "open", "high", "low", "close", "volume")


class ReplayMarket:
    """The market data port over one product's candles, read as of ``clock.now()``.

    ``candles`` come at the series' granularity or aggregated to a coarser one
    (buckets aligned in UNIX time, wholly inside the series). ``spread_rate`` is
    the full bid-ask spread as a fraction of the price; 0 quotes bid = ask = price.
    """

    name = "replay"

    def __init__(
        self,
        product: Product,
        candles: Candles,
        granularity: Granularity | str,
        clock: Clock,
        spread_rate: Decimal = Decimal("0"),
    ) -> None:
        self.granularity = Granularity.parse(granularity)
        g = self.granularity.seconds
        if len(candles) == 0:
            raise ValueError("a replay needs at least one candle")
        times = np.asarray(candles.time, dtype=np.int64)
        if np.any(np.diff(times) <= 0):
            raise ValueError("candle times must be strictly increasing, without duplicates")
        if np.any(times % g):
            raise ValueError(f"candle times must fall on {self.granularity.short} boundaries in UNIX time")
        if not isinstance(spread_rate, Decimal) or not Decimal("0") <= spread_rate < 1:
            raise ValueError(f"spread_rate must be in [0, 1), got {spread_rate}")
        self._product = product
        self.clock = clock
        self.spread_rate = spread_rate
        self._series = {self.granularity: _read_only(Candles(times, *(getattr(candles, c) for c in COLUMNS[1:])))}

    def now(self) -> datetime:
        return self.clock.now()

    def products(self) -> list[Product]:
        return [self._product]

    def product(self, product_id: str) -> Product:
        if product_id != self._product.product_id:
            raise UnknownProduct(product_id, [self._product.product_id])
        return self._product

    def candles(self, product_id: str, granularity: Granularity | str, start: datetime, end: datetime) -> Candles:
        """Candles with open time in [start, end - granularity] that had closed by ``now()``."""
        self.product(product_id)
        g = Granularity.parse(granularity)
        series = self._at(g)
        limit = min(unix_seconds(end, "end"), unix_seconds(self.now(), "now"))
        lo = int(np.searchsorted(series.time, unix_seconds(start, "start"), side="left"))
        hi = int(np.searchsorted(series.time, limit - g.seconds, side="right"))
        return series[lo : max(lo, hi)]

    def ticker(self, product_id: str) -> Ticker:
        now = self.now()
        price = self.price_at(product_id, now)
        if not self.spread_rate:
            return Ticker(product_id, price, price, price, now)
        inc = self._product.price_increment
        half = price * self.spread_rate / 2
        return Ticker(product_id, quantize_down(price - half, inc), quantize_up(price + half, inc), price, now)

    def price_at(self, product_id: str, t: datetime) -> Decimal:
        """The price known at ``t``: the open of the candle ``t`` falls in, else the last close."""
        self.product(product_id)
        series, g = self._series[self.granularity], self.granularity.seconds
        s = unix_seconds(t, "t")
        i = int(np.searchsorted(series.time, s, side="right")) - 1
        if i < 0:
            first = datetime.fromtimestamp(int(series.time[0]), UTC)
            raise ValueError(f"{t.isoformat()} is before the replay's first candle at {first.isoformat()}")
        # Inside a candle only its open is known; past its end (a gap, or the series' end) its close.
        value = series.open[i] if s < series.time[i] + g else series.close[i]
        return Decimal(float(value)).quantize(self._product.price_increment, rounding=ROUND_HALF_EVEN)

    def _at(self, granularity: Granularity) -> Candles:
        series = self._series.get(granularity)
        if series is None:
            series = self._series[granularity] = _read_only(self._aggregate(granularity))
        return series

    def _aggregate(self, granularity: Granularity) -> Candles:
        """Coarser candles from the series, keeping only buckets the series wholly covers."""
        base, g, big = self._series[self.granularity], self.granularity.seconds, granularity.seconds
        if big < g or big % g:
            raise ValueError(f"cannot build {granularity.short} candles from a {self.granularity.short} series")
        bucket = base.time // big * big
        keep = (bucket >= base.time[0]) & (bucket + big <= base.time[-1] + g)
        if not keep.any():
            return Candles.empty()
        b, part = bucket[keep], base[np.flatnonzero(keep)]
        starts = np.flatnonzero(np.concatenate([[True], b[1:] != b[:-1]]))
        ends = np.concatenate([starts[1:], [len(b)]]) - 1
        return Candles(
            b[starts],
            part.open[starts],
            np.maximum.reduceat(part.high, starts),
            np.minimum.reduceat(part.low, starts),
            part.close[ends],
            np.add.reduceat(part.volume, starts),
        )


def _read_only(candles: Candles) -> Candles:
    """Copies the caller cannot alter: slices handed out later are views of these."""
    columns = [np.array(getattr(candles, c)) for c in COLUMNS]
    for column in columns:
        column.flags.writeable = False
    return Candles(*columns)


def load_csv(path: str | Path) -> Candles:
    """Read candles from a CSV (optionally gzipped) with a header naming ``COLUMNS``.

    ``time`` is a candle's open time, ISO 8601 (UTC when no offset is given) or
    UNIX seconds. Other columns are ignored; rows come back sorted by time.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file; expected a header with columns {', '.join(COLUMNS)}")
        names = [h.strip().lower() for h in header]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise ValueError(f"{path}: missing column {', '.join(map(repr, missing))} (found {', '.join(names)})")
        index = [names.index(c) for c in COLUMNS]
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                values = [float(row[i]) for i in index[1:]]
                if not all(map(math.isfinite, values)):
                    raise ValueError("prices and volume must be finite numbers")
                rows.append((_parse_time(row[index[0]]), *values))
            except (ValueError, IndexError) as e:
                raise ValueError(f"{path}, line {line}: {e}") from None
    return Candles.from_rows(rows)


def _parse_time(value: str) -> int:
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        t = datetime.fromisoformat(value)
        return math.floor((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp())
    if abs(seconds) >= 1e11:
        raise ValueError(f"time {value} looks like milliseconds; expected UNIX seconds")
    return math.floor(seconds)
