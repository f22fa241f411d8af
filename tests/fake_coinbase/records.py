"""The records the fake keeps (orders, fills) and how Coinbase writes them out.

Shapes follow Coinbase's API reference and the SDK's type definitions: every
number a string, timestamps RFC 3339 with microseconds and ``Z``, opaque
cursors, errors as ``{error, error_details, message}``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from market.types import Side

MAX_CANDLES = 350
CANDLES_TOO_MANY = "start and end argument is invalid - number of candles requested should be less than 350"

# reason -> message, as Coinbase words them.
REJECTION_MESSAGES = {
    "INSUFFICIENT_FUND": "Insufficient balance in source account",
    "INVALID_SIZE_PRECISION": "Invalid order size precision",
    "INVALID_PRICE_PRECISION": "Invalid price precision",
    "INVALID_LIMIT_PRICE_POST_ONLY": "Limit price would take liquidity for a post only order",
    "UNSUPPORTED_ORDER_CONFIGURATION": "Unsupported order configuration",
    "INVALID_PRODUCT_ID": "Invalid product_id",
    "ORDER_ENTRY_DISABLED": "Order entry is disabled for this product",
    "INELIGIBLE_PAIR": "The product is not eligible for trading",
    "UNKNOWN_FAILURE_REASON": "",
    "PREVIEW_INSUFFICIENT_FUND": "Insufficient balance in source account",
    "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL": "Order size is too small. Minimum size is {base_min}",
    "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE": "Order size is too large. Maximum size is {base_max}",
    "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL": "Order value is too small. Minimum value is {quote_min}",
    "PREVIEW_INVALID_QUOTE_SIZE_PRECISION": "Order value has too many decimal places",
}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def s(d: Decimal) -> str:
    return format(d, "f")


def cursor_at(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def offset_of(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("offset:"))
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", "invalid cursor") from None


class ApiError(Exception):
    """An HTTP error answer with Coinbase's JSON error body."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_details": self.message, "message": self.message}


@dataclass
class FakeFill:
    entry_id: str
    trade_id: str
    order_id: str
    product_id: str
    side: Side
    price: Decimal
    base: Decimal
    commission: Decimal
    time: datetime
    size_in_quote: bool
    seq: int = 0
    hidden_for: int = 0  # fill listings that will not show it yet

    def json(self) -> dict[str, Any]:
        size = self.base * self.price if self.size_in_quote else self.base
        return {
            "entry_id": self.entry_id,
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "trade_time": iso(self.time),
            "trade_type": "FILL",
            "price": s(self.price),
            "size": s(size),
            "commission": s(self.commission),
            "product_id": self.product_id,
            "sequence_timestamp": iso(self.time),
            "liquidity_indicator": "TAKER",
            "size_in_quote": self.size_in_quote,
            "user_id": "fake-user-0001",
            "side": self.side.value,
            "retail_portfolio_id": "fake-portfolio-0001",
        }


@dataclass
class FakeOrder:
    order_id: str
    client_order_id: str
    product_id: str
    side: Side
    configuration: dict[str, Any]
    created: datetime
    status: str = "FILLED"
    fills: list[FakeFill] = field(default_factory=list)
    hold: Decimal = Decimal("0")
    seq: int = 0

    @property
    def size_in_quote(self) -> bool:
        return "quote_size" in self.configuration["market_market_ioc"]

    def json(self) -> dict[str, Any]:
        filled = sum((f.base for f in self.fills), Decimal("0"))
        value = sum((f.base * f.price for f in self.fills), Decimal("0"))
        fees = sum((f.commission for f in self.fills), Decimal("0"))
        ioc = self.configuration["market_market_ioc"]
        wanted = Decimal(ioc.get("quote_size") or ioc.get("base_size"))
        done = (value + fees if self.side is Side.BUY else value) if self.size_in_quote else filled
        return {
            "order_id": self.order_id,
            "product_id": self.product_id,
            "user_id": "fake-user-0001",
            "order_configuration": self.configuration,
            "side": self.side.value,
            "client_order_id": self.client_order_id,
            "status": self.status,
            "time_in_force": "IMMEDIATE_OR_CANCEL",
            "created_time": iso(self.created),
            "completion_percentage": s((done / wanted * 100).quantize(Decimal("0.01"))),
            "filled_size": s(filled),
            "average_filled_price": s(value / filled) if filled else "0",
            "fee": "",
            "number_of_fills": str(len(self.fills)),
            "filled_value": s(value),
            "pending_cancel": False,
            "size_in_quote": self.size_in_quote,
            "total_fees": s(fees),
            "size_inclusive_of_fees": self.size_in_quote,
            "total_value_after_fees": s(value + fees if self.side is Side.BUY else value - fees),
            "trigger_status": "INVALID_ORDER_TYPE",
            "order_type": "MARKET",
            "reject_reason": "REJECT_REASON_UNSPECIFIED",
            "settled": self.status != "OPEN",
            "product_type": "SPOT",
            "reject_message": "",
            "cancel_message": "",
            "order_placement_source": "RETAIL_ADVANCED",
            "outstanding_hold_amount": s(self.hold),
            "is_liquidation": False,
            "last_fill_time": iso(self.fills[-1].time) if self.fills else None,
            "edit_history": [],
            "leverage": "",
            "margin_type": "UNKNOWN_MARGIN_TYPE",
            "retail_portfolio_id": "fake-portfolio-0001",
            "originating_order_id": "",
            "attached_order_id": "",
        }
