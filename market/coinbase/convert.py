"""Coinbase's JSON (as plain dicts) to the port's value types.

Coinbase sends every number as a string, sometimes an empty one; a fill of a
quote-sized order reports its ``size`` in the quote currency. This is the only
module that knows those shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from market.types import Balance, ExchangeFill, ExchangeOrder, OrderStatus, Product, Side

ZERO = Decimal("0")
# Base sizes derived from quote sizes are kept to the 12 places the database stores;
# Coinbase itself reports base sizes to 16 places, far below any increment.
SIZE_PLACES = Decimal("1e-12")
NOT_A_REASON = {"", "UNKNOWN_FAILURE_REASON", "UNKNOWN_PREVIEW_FAILURE_REASON", "REJECT_REASON_UNSPECIFIED"}

# Coinbase order status -> ours. Anything acknowledged but not done is OPEN
# (PARTIALLY_FILLED once it has fills); EXPIRED is an IOC remainder, done like
# a cancel; FAILED was refused after acceptance.
STATUS = {
    "PENDING": OrderStatus.OPEN,
    "QUEUED": OrderStatus.OPEN,
    "OPEN": OrderStatus.OPEN,
    "CANCEL_QUEUED": OrderStatus.OPEN,
    "EDIT_QUEUED": OrderStatus.OPEN,
    "FILLED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.CANCELLED,
    "FAILED": OrderStatus.REJECTED,
    "UNKNOWN_ORDER_STATUS": OrderStatus.UNKNOWN,
}


def dec(value: Any, default: Decimal = ZERO) -> Decimal:
    """A Decimal from Coinbase's string numbers; empty or missing gives ``default``."""
    if value is None or value == "":
        return default
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"Coinbase sent {value!r} where a number belongs") from None
    if not result.is_finite():
        raise ValueError(f"Coinbase sent {value!r} where a finite number belongs")
    return result


def timestamp(value: Any) -> datetime:
    """RFC 3339 with up to nanoseconds and a ``Z``, as Coinbase writes it."""
    text = str(value or "").strip()
    if not text:
        raise ValueError("Coinbase sent an empty timestamp")
    text = text.replace("Z", "+00:00")
    if "." in text:
        # Python parses at most microseconds; Coinbase may send nanoseconds.
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    return datetime.fromisoformat(text).astimezone(UTC)


def product(data: dict[str, Any]) -> Product:
    product_id = str(data["product_id"])
    base, _, quote = product_id.partition("-")
    quote_increment = dec(data.get("quote_increment"))
    disabled = bool(data.get("trading_disabled") or data.get("is_disabled") or data.get("view_only"))
    status = str(data.get("status") or "online").lower()
    return Product(
        product_id=product_id,
        base_currency=str(data.get("base_currency_id") or base),
        quote_currency=str(data.get("quote_currency_id") or quote),
        base_increment=dec(data.get("base_increment")),
        quote_increment=quote_increment,
        price_increment=dec(data.get("price_increment"), quote_increment),
        base_min_size=dec(data.get("base_min_size")),
        base_max_size=dec(data.get("base_max_size")),
        quote_min_size=dec(data.get("quote_min_size")),
        quote_max_size=dec(data.get("quote_max_size")),
        trading_disabled=disabled or status not in ("online", ""),
        cancel_only=bool(data.get("cancel_only")),
        limit_only=bool(data.get("limit_only")),
        post_only=bool(data.get("post_only")),
    )


def candle_row(data: dict[str, Any]) -> tuple[int, str, str, str, str, str]:
    return (
        int(data["start"]),
        data["open"],
        data["high"],
        data["low"],
        data["close"],
        data["volume"],
    )


def balances(accounts: list[dict[str, Any]]) -> dict[str, Balance]:
    """One balance per currency; several accounts in one currency are added up."""
    out: dict[str, Balance] = {}
    for account in accounts:
        if account.get("active") is False or account.get("deleted_at"):
            continue
        currency = str(account.get("currency") or (account.get("available_balance") or {}).get("currency"))
        available = dec((account.get("available_balance") or {}).get("value"))
        hold = dec((account.get("hold") or {}).get("value"))
        if currency in out:
            available += out[currency].available
            hold += out[currency].hold
        out[currency] = Balance(currency, available, hold)
    return out


def fill(data: dict[str, Any]) -> ExchangeFill:
    """One fill, its size in base units whatever Coinbase reported it in."""
    product_id = str(data["product_id"])
    price = dec(data["price"])
    size = dec(data["size"])
    if data.get("size_in_quote") in (True, "true", "True"):
        if price <= 0:
            raise ValueError(f"fill {data.get('trade_id')} is sized in quote but has price {price}")
        with localcontext() as ctx:
            ctx.prec = 60
            size = (size / price).quantize(SIZE_PLACES, rounding=ROUND_HALF_EVEN)
    return ExchangeFill(
        # entry_id names this fill; trade_id names the match, shared by both sides of a self-trade.
        trade_id=str(data.get("entry_id") or data["trade_id"]),
        order_id=str(data["order_id"]),
        product_id=product_id,
        side=Side(str(data["side"]).upper()),
        price=price,
        size=size,
        fee=dec(data.get("commission")),
        # Advanced Trade charges spot fees in the quote currency; the fill says how much.
        fee_currency=product_id.partition("-")[2],
        time=timestamp(data.get("trade_time") or data.get("sequence_timestamp")),
    )


def reject_reason(error: dict[str, Any]) -> str:
    """The most specific reason in an ``error_response``."""
    for key in ("error", "new_order_failure_reason", "preview_failure_reason"):
        value = str(error.get(key) or "")
        if value not in NOT_A_REASON:
            return value
    return "UNKNOWN_FAILURE_REASON"


def order(data: dict[str, Any], fills: list[ExchangeFill]) -> ExchangeOrder:
    """An order with its fills; a done order whose fills have not all arrived stays open.

    Coinbase's fill list can lag the order's status by a moment. Reporting such
    an order as FILLED would make it final with fills missing, so it is reported
    PARTIALLY_FILLED, which the resolver looks at again.
    """
    status = STATUS.get(str(data.get("status") or ""), OrderStatus.UNKNOWN)
    filled = dec(data.get("filled_size"))
    if status is OrderStatus.OPEN and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    reported = int(dec(data.get("number_of_fills")))
    got = sum((f.size for f in fills), ZERO)
    if (
        status.is_final
        and status is not OrderStatus.REJECTED
        and (len(fills) < reported or filled - got > SIZE_PLACES * max(len(fills), 1))
    ):
        status = OrderStatus.PARTIALLY_FILLED
    reason = ""
    if status is OrderStatus.REJECTED:
        reason = next(
            (
                str(data.get(k))
                for k in ("reject_reason", "reject_message")
                if str(data.get(k) or "") not in NOT_A_REASON
            ),
            "FAILED",
        )
    return ExchangeOrder(
        order_id=str(data["order_id"]),
        client_order_id=str(data.get("client_order_id") or ""),
        product_id=str(data["product_id"]),
        side=Side(str(data["side"]).upper()),
        status=status,
        filled_size=filled,
        average_price=dec(data.get("average_filled_price")) if filled > 0 else None,
        fees=dec(data.get("total_fees")),
        reject_reason=reason,
        fills=tuple(sorted(fills, key=lambda f: (f.time, f.trade_id))),
    )
