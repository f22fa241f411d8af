"""The exchange port: what the rest of the system may ask of a market.

Two halves. ``MarketData`` reads (products, candles, tickers, the market's
clock); ``Exchange`` trades (balances, market orders, order look-ups).
Adapters: the simulated and replay markets and Coinbase for data; the paper
exchange and Coinbase for trading. Nothing outside an adapter sees an SDK type.

The retry policy lives in the error classes (compare freqtrade's exception
tree): a ``TemporaryError`` on a read may be retried; on an order it means the
outcome is unknown and the order must be looked up by its client_order_id,
never placed again. An ``OrderRejected`` is final and carries the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from market.types import Balance, Candles, ExchangeOrder, Granularity, Product, Side, Ticker


class ExchangeError(Exception):
    """Base of every error an adapter raises."""


class TemporaryError(ExchangeError):
    """Timeouts, dropped connections, 5xx: the same read may succeed later."""


class RateLimited(TemporaryError):
    """HTTP 429 or a local token bucket that is empty."""


class UnknownOrderOutcome(TemporaryError):
    """The order request may or may not have reached the exchange."""


class OrderRejected(ExchangeError):
    """The exchange refused the order; final, never retried blindly."""

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        self.message = message or reason
        super().__init__(f"{reason}: {self.message}")


class PermanentError(ExchangeError):
    """Bad credentials, missing permissions, unknown product: fix the config."""


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can do, declared as data (compare freqtrade's ``_ft_has``)."""

    live_money: bool
    market_orders_by_quote: bool = True
    max_candles_per_request: int | None = None


@runtime_checkable
class MarketData(Protocol):
    name: str

    def now(self) -> datetime: ...

    def products(self) -> list[Product]: ...

    def product(self, product_id: str) -> Product: ...

    def candles(self, product_id: str, granularity: Granularity, start: datetime, end: datetime) -> Candles: ...

    def ticker(self, product_id: str) -> Ticker: ...


@runtime_checkable
class Exchange(Protocol):
    name: str
    capabilities: Capabilities

    def balances(self) -> dict[str, Balance]: ...

    def place_market_order(
        self,
        *,
        client_order_id: str,
        product: Product,
        side: Side,
        quote_size: Decimal | None = None,
        base_size: Decimal | None = None,
    ) -> ExchangeOrder: ...

    def get_order_by_client_id(self, client_order_id: str) -> ExchangeOrder | None: ...

    def fee_rate(self) -> Decimal: ...
