"""Plain values that cross the exchange port.

Nothing here imports Django or an SDK: the pure decision core, the adapters
and the backtester all speak these types. Prices and sizes are Decimal;
candle series are float arrays because they only feed indicator math.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal

import numpy as np


class Granularity(enum.Enum):
    """Candle sizes the bots can read, named as Coinbase names them."""

    ONE_MINUTE = ("1m", 60)
    FIVE_MINUTE = ("5m", 300)
    FIFTEEN_MINUTE = ("15m", 900)
    THIRTY_MINUTE = ("30m", 1800)
    ONE_HOUR = ("1h", 3600)
    TWO_HOUR = ("2h", 7200)
    SIX_HOUR = ("6h", 21600)
    ONE_DAY = ("1d", 86400)

    def __init__(self, short: str, seconds: int) -> None:
        self.short = short
        self.seconds = seconds

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    @classmethod
    def parse(cls, value: str | Granularity) -> Granularity:
        """Accept ``5m``, ``FIVE_MINUTE`` or a member; name the choices otherwise."""
        if isinstance(value, Granularity):
            return value
        for member in cls:
            if value in (member.short, member.name):
                return member
        choices = ", ".join(m.short for m in cls)
        raise ValueError(f"unknown granularity {value!r}; choose one of {choices}")


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


@dataclass(frozen=True)
class Candles:
    """An ascending series of OHLCV candles as parallel numpy arrays.

    ``time`` holds each candle's open time in UNIX seconds (int64).
    """

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"candle column {name} has {len(getattr(self, name))} values, time has {n}")

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> Candles:
        z = np.zeros(0)
        return cls(np.zeros(0, dtype=np.int64), z, z, z, z, z)

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> Candles:
        """Build from ``(time, open, high, low, close, volume)`` rows in any order."""
        if not rows:
            return cls.empty()
        arr = sorted(rows, key=lambda r: r[0])
        t = np.array([int(r[0]) for r in arr], dtype=np.int64)
        cols = np.array([[float(v) for v in r[1:6]] for r in arr], dtype=np.float64)
        return cls(t, cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3], cols[:, 4])

    def tail(self, n: int) -> Candles:
        return self[-n:] if n < len(self) else self

    def __getitem__(self, key: slice) -> Candles:
        return Candles(self.time[key], self.open[key], self.high[key], self.low[key], self.close[key], self.volume[key])

    def until(self, t: int) -> Candles:
        """Candles whose open time is at most ``t`` (UNIX seconds)."""
        idx = int(np.searchsorted(self.time, t, side="right"))
        return self[:idx]

    def concat(self, newer: Candles) -> Candles:
        """Merge ``newer`` into this series: later values win for equal times."""
        if len(newer) == 0:
            return self
        if len(self) == 0:
            return newer
        keep = self.time < newer.time[0]
        return Candles(
            np.concatenate([self.time[keep], newer.time]),
            np.concatenate([self.open[keep], newer.open]),
            np.concatenate([self.high[keep], newer.high]),
            np.concatenate([self.low[keep], newer.low]),
            np.concatenate([self.close[keep], newer.close]),
            np.concatenate([self.volume[keep], newer.volume]),
        )


@dataclass(frozen=True)
class Ticker:
    """Best bid and ask at a moment; ``price`` is the last trade (or mid)."""

    product_id: str
    bid: Decimal
    ask: Decimal
    price: Decimal
    time: datetime
    stale: bool = False  # served from the cache while the exchange could not be reached

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True)
class Product:
    """A trading pair with the increments and minimums an order must respect."""

    product_id: str
    base_currency: str
    quote_currency: str
    base_increment: Decimal
    quote_increment: Decimal
    price_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal
    quote_min_size: Decimal
    quote_max_size: Decimal
    trading_disabled: bool = False
    cancel_only: bool = False
    limit_only: bool = False
    post_only: bool = False

    def round_base(self, size: Decimal) -> Decimal:
        """Round a base size down to the base increment (never sell more than held)."""
        return quantize_down(size, self.base_increment)

    def round_quote(self, size: Decimal) -> Decimal:
        return quantize_down(size, self.quote_increment)

    def round_price(self, price: Decimal) -> Decimal:
        return quantize_down(price, self.price_increment)

    @property
    def market_orders_allowed(self) -> bool:
        return not (self.trading_disabled or self.cancel_only or self.limit_only or self.post_only)


def quantize_down(value: Decimal, increment: Decimal) -> Decimal:
    """Round ``value`` down to a multiple of ``increment``, keeping its exponent."""
    if increment <= 0:
        raise ValueError("increment must be positive")
    steps = (value / increment).to_integral_value(rounding=ROUND_DOWN)
    return (steps * increment).quantize(increment)


def quantize_up(value: Decimal, increment: Decimal) -> Decimal:
    """Round ``value`` up to a multiple of ``increment`` (what a buyer pays, a fee owed)."""
    if increment <= 0:
        raise ValueError("increment must be positive")
    steps = (value / increment).to_integral_value(rounding=ROUND_UP)
    return (steps * increment).quantize(increment)


class UnknownProduct(KeyError):
    """A product id the market does not list; the message names it and the known ones."""

    def __init__(self, product_id: str, known: Iterable[str] = ()) -> None:
        self.product_id = product_id
        message = f"unknown product {product_id!r}"
        if known:
            message += f"; this market lists {', '.join(sorted(known))}"
        super().__init__(message)

    def __str__(self) -> str:
        # KeyError would repr() the message, wrapping it in quotes.
        return str(self.args[0])


@dataclass(frozen=True)
class Balance:
    currency: str
    available: Decimal
    hold: Decimal = Decimal("0")


@dataclass(frozen=True)
class ExchangeFill:
    """One fill as the exchange reports it; fee in ``fee_currency``."""

    trade_id: str
    order_id: str
    product_id: str
    side: Side
    price: Decimal
    size: Decimal  # base units
    fee: Decimal
    fee_currency: str
    time: datetime


class OrderStatus(enum.StrEnum):
    """Lifecycle of an order row; PENDING means written, not yet acknowledged."""

    PENDING = "PENDING"
    OPEN = "OPEN"
    FILLED = "FILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"
    FAILED = "FAILED"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.FAILED)


def order_mode(*, live_switch: bool, trading_mode: str) -> str:
    """``live`` when a bot's orders are real money (its switch on and TRADING_MODE=live), else ``paper``.

    The one home of that rule: the exchange chooser, the API, the admin and the cards ask it.
    """
    return "live" if live_switch and trading_mode == "live" else "paper"


# Orders whose final outcome is not known yet: looked up every tick; their bot waits for them.
UNRESOLVED_ORDER_STATUSES = tuple(s.value for s in OrderStatus if not s.is_final)


@dataclass(frozen=True)
class ExchangeOrder:
    """An order as the exchange sees it, with the fills it has so far."""

    order_id: str
    client_order_id: str
    product_id: str
    side: Side
    status: OrderStatus
    filled_size: Decimal = Decimal("0")
    average_price: Decimal | None = None
    fees: Decimal = Decimal("0")
    reject_reason: str = ""
    fills: tuple[ExchangeFill, ...] = field(default_factory=tuple)
