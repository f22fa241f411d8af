"""The fill model shared by paper trading and the backtester.

A market order fills at once against the best bid or ask, moved against the
trader by the slippage rate, and pays the taker fee. All of it is Decimal
arithmetic rounded the way an exchange rounds against the customer: the price
paid up and the price received down to the price increment, sizes down to the
base increment, fees up to 8 decimal places. A buy sized in quote never spends
more than its quote size, fee included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from market.types import Product, Side, quantize_down, quantize_up

FEE_PLACES = Decimal("0.00000001")


class FillRejected(ValueError):
    """An order the exchange would refuse; ``reason`` is a stable code to record."""

    INVALID_SIZE = "INVALID_SIZE"
    BELOW_MIN_SIZE = "BELOW_MIN_SIZE"
    ABOVE_MAX_SIZE = "ABOVE_MAX_SIZE"
    TRADING_DISABLED = "TRADING_DISABLED"
    INVALID_PRICE = "INVALID_PRICE"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SimulatedFill:
    """One complete fill. ``total`` is debited for a BUY and credited for a SELL."""

    side: Side
    price: Decimal
    base_size: Decimal
    quote_value: Decimal  # base_size * price
    fee: Decimal
    total: Decimal  # BUY: quote_value + fee; SELL: quote_value - fee


def fill_market_order(
    *,
    product: Product,
    side: Side,
    bid: Decimal,
    ask: Decimal,
    fee_rate: Decimal,
    slippage_rate: Decimal,
    quote_size: Decimal | None = None,
    base_size: Decimal | None = None,
) -> SimulatedFill:
    """Fill a market order completely, or raise ``FillRejected`` saying why not.

    A BUY is sized by ``quote_size`` (the most to spend, fee included) or by
    ``base_size``; a SELL by ``base_size``. Sizes are rounded down to their
    increments before the minimums are checked. ``fee_rate`` and
    ``slippage_rate`` are fractions (0.006 is 0.6 %).
    """
    side = Side(side)
    _require_decimals(
        bid=bid, ask=ask, fee_rate=fee_rate, slippage_rate=slippage_rate, quote_size=quote_size, base_size=base_size
    )
    for name, rate in (("fee_rate", fee_rate), ("slippage_rate", slippage_rate)):
        if not (rate.is_finite() and 0 <= rate < 1):
            raise ValueError(f"{name} must be in [0, 1), got {rate}")
    pid = product.product_id
    if not product.market_orders_allowed:
        raise FillRejected(FillRejected.TRADING_DISABLED, f"{pid} does not accept market orders now")
    if not (bid.is_finite() and ask.is_finite() and bid > 0 and ask > 0):
        raise FillRejected(FillRejected.INVALID_PRICE, f"{pid} has no usable quote (bid {bid:f}, ask {ask:f})")
    if (quote_size is None) == (base_size is None):
        raise FillRejected(FillRejected.INVALID_SIZE, "give exactly one of quote_size and base_size")
    if side is Side.SELL and quote_size is not None:
        raise FillRejected(FillRejected.INVALID_SIZE, "a market SELL is sized in base (base_size)")
    size = quote_size if quote_size is not None else base_size
    if not size.is_finite() or size <= 0:
        raise FillRejected(FillRejected.INVALID_SIZE, f"order size must be a positive number, got {size:f}")

    # Wide enough that products of prices and sizes are exact.
    with localcontext() as ctx:
        ctx.prec = 60
        if side is Side.BUY:
            price = quantize_up(ask * (1 + slippage_rate), product.price_increment)
            if quote_size is not None:
                budget = product.round_quote(quote_size)
                _check_quote(product, budget)
                return _buy_for_quote(product, price, fee_rate, budget)
            base = _check_base(product, product.round_base(base_size))
        else:
            price = quantize_down(bid * (1 - slippage_rate), product.price_increment)
            if price <= 0:
                raise FillRejected(FillRejected.INVALID_PRICE, f"{pid}: bid {bid:f} after slippage is not a price")
            base = _check_base(product, product.round_base(base_size))
        value = base * price
        _check_quote(product, value)
        return _fill(side, price, base, fee_rate)


def _buy_for_quote(product: Product, price: Decimal, fee_rate: Decimal, quote_size: Decimal) -> SimulatedFill:
    base = product.round_base(quote_size / (1 + fee_rate) / price)
    fill = _fill(Side.BUY, price, base, fee_rate)
    # The fee's rounding up can tip the total a hair over the budget: buy one increment less.
    while fill.total > quote_size and base > 0:
        base -= product.base_increment
        fill = _fill(Side.BUY, price, base, fee_rate)
    _check_base(product, base)
    return fill


def _fill(side: Side, price: Decimal, base: Decimal, fee_rate: Decimal) -> SimulatedFill:
    value = base * price
    fee = quantize_up(value * fee_rate, FEE_PLACES)
    total = value + fee if side is Side.BUY else value - fee
    return SimulatedFill(side, price, base, value, fee, total)


def _check_base(product: Product, base: Decimal) -> Decimal:
    if base <= 0 or base < product.base_min_size:
        raise FillRejected(
            FillRejected.BELOW_MIN_SIZE,
            f"{product.product_id}: size {base:f} {product.base_currency} is below the minimum of "
            f"{product.base_min_size:f} {product.base_currency}",
        )
    if base > product.base_max_size:
        raise FillRejected(
            FillRejected.ABOVE_MAX_SIZE,
            f"{product.product_id}: size {base:f} {product.base_currency} is above the maximum of "
            f"{product.base_max_size:f} {product.base_currency}",
        )
    return base


def _check_quote(product: Product, value: Decimal) -> None:
    if value < product.quote_min_size:
        raise FillRejected(
            FillRejected.BELOW_MIN_SIZE,
            f"{product.product_id}: order value {value:f} {product.quote_currency} is below the minimum of "
            f"{product.quote_min_size:f} {product.quote_currency}",
        )
    if value > product.quote_max_size:
        raise FillRejected(
            FillRejected.ABOVE_MAX_SIZE,
            f"{product.product_id}: order value {value:f} {product.quote_currency} is above the maximum of "
            f"{product.quote_max_size:f} {product.quote_currency}",
        )


def _require_decimals(**values: object) -> None:
    # A float here would carry binary rounding error into money; refuse it outright.
    for name, value in values.items():
        if value is not None and not isinstance(value, Decimal):
            raise TypeError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")
