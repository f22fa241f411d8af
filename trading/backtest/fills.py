"""``market.fills`` in fixed-point integers, for the compiled loop.

The same fill model, step for step: a buy pays the ask moved up by the
slippage and rounded up to the price increment; a sell gets the bid moved
down and rounded down; base sizes round down to the base increment, fees up
to 8 decimal places; a buy sized in quote never spends more than its size,
fee included; the exchange minimums and maximums refuse an order. Amounts are
in the units of ``trading.backtest.units`` and every step is exact integer
arithmetic, so the results are the Decimal model's to the last digit
(tests/backtest/test_fills.py checks it against ``market.fills`` itself).

Why exact rational rounding equals the Decimal code's two 60-digit divisions
for a buy's size (quote / (1 + fee) / price, rounded down): when the exact
quotient is a multiple of the increment it is a terminating decimal, so is
quote / (1 + fee) (the quotient times a decimal price), and both divisions are
exact; otherwise the quotient is a ratio of bounded integers, at least about
1e-40 (relative) from any multiple, far beyond 60 digits' rounding.
"""

from __future__ import annotations

from typing import NamedTuple

from numba import njit

# Outcomes (market.fills.FillRejected reasons, and the paper exchange's).
FILLED = 0
BELOW_MIN_SIZE = 1
ABOVE_MAX_SIZE = 2
INVALID_PRICE = 3
INVALID_SIZE = 4
INSUFFICIENT_FUND = 5
REJECT_REASONS = {
    BELOW_MIN_SIZE: "BELOW_MIN_SIZE",
    ABOVE_MAX_SIZE: "ABOVE_MAX_SIZE",
    INVALID_PRICE: "INVALID_PRICE",
    INVALID_SIZE: "INVALID_SIZE",
    INSUFFICIENT_FUND: "INSUFFICIENT_FUND",
}


class FillParams(NamedTuple):
    """The product and the exchange's rates, in fixed-point units (all int64)."""

    price_increment: int
    slippage_num: int
    slippage_den: int
    fee_num: int
    fee_den: int
    fee_increment: int  # 10**-8 of the quote currency, in cash units
    quote_increment: int
    quote_min: int
    quote_max: int
    base_increment: int
    base_min: int
    base_max: int


@njit(cache=True)
def muldiv_floor(a: int, b: int, c: int) -> int:
    """floor(a * b / c) for a, b >= 0 and c > 0, without forming a * b (only b * c must fit)."""
    return (a // c) * b + (a % c) * b // c


@njit(cache=True)
def muldiv_ceil(a: int, b: int, c: int) -> int:
    """ceil(a * b / c) for a, b >= 0 and c > 0."""
    return (a // c) * b + ((a % c) * b + c - 1) // c


@njit(cache=True)
def fee_of(value: int, f: FillParams) -> int:
    """The taker fee on ``value``, rounded up to 8 decimal places."""
    return muldiv_ceil(value, f.fee_num, f.fee_den * f.fee_increment) * f.fee_increment


@njit(cache=True)
def _check_quote(value: int, f: FillParams) -> int:
    if value < f.quote_min:
        return BELOW_MIN_SIZE
    if value > f.quote_max:
        return ABOVE_MAX_SIZE
    return FILLED


@njit(cache=True)
def _check_base(base: int, f: FillParams) -> int:
    if base <= 0 or base < f.base_min:
        return BELOW_MIN_SIZE
    if base > f.base_max:
        return ABOVE_MAX_SIZE
    return FILLED


@njit(cache=True)
def buy_for_quote(quote_size: int, bid: int, ask: int, f: FillParams) -> tuple[int, int, int, int, int]:
    """A market buy spending at most ``quote_size``: (outcome, price, base size, fee, total paid)."""
    if bid <= 0 or ask <= 0:
        return INVALID_PRICE, 0, 0, 0, 0
    if quote_size <= 0:
        return INVALID_SIZE, 0, 0, 0, 0
    price = muldiv_ceil(ask, f.slippage_den + f.slippage_num, f.slippage_den * f.price_increment) * f.price_increment
    budget = quote_size // f.quote_increment * f.quote_increment
    outcome = _check_quote(budget, f)
    if outcome != FILLED:
        return outcome, price, 0, 0, 0
    base = muldiv_floor(budget, f.fee_den, (f.fee_den + f.fee_num) * price)
    base = base // f.base_increment * f.base_increment
    fee = fee_of(base * price, f)
    # The fee's rounding up can tip the total a hair over the budget: buy one increment less.
    while base * price + fee > budget and base > 0:
        base -= f.base_increment
        fee = fee_of(base * price, f)
    outcome = _check_base(base, f)
    if outcome != FILLED:
        return outcome, price, 0, 0, 0
    return FILLED, price, base, fee, base * price + fee


@njit(cache=True)
def sell_base(base_size: int, bid: int, ask: int, f: FillParams) -> tuple[int, int, int, int, int]:
    """A market sell of ``base_size``: (outcome, price, base size, fee, total received)."""
    if bid <= 0 or ask <= 0:
        return INVALID_PRICE, 0, 0, 0, 0
    if base_size <= 0:
        return INVALID_SIZE, 0, 0, 0, 0
    price = muldiv_floor(bid, f.slippage_den - f.slippage_num, f.slippage_den * f.price_increment) * f.price_increment
    if price <= 0:
        return INVALID_PRICE, price, 0, 0, 0
    base = base_size // f.base_increment * f.base_increment
    outcome = _check_base(base, f)
    if outcome != FILLED:
        return outcome, price, 0, 0, 0
    value = base * price
    outcome = _check_quote(value, f)
    if outcome != FILLED:
        return outcome, price, 0, 0, 0
    fee = fee_of(value, f)
    return FILLED, price, base, fee, value - fee
