"""The loop's integer fill model gives market.fills' Decimal results, digit for digit."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.fills import FillRejected, fill_market_order
from market.types import Side
from trading.backtest import BacktestSettings
from trading.backtest.engine import fill_params
from trading.backtest.fills import FILLED, REJECT_REASONS, buy_for_quote, sell_base
from trading.backtest.units import Units

RATES = st.sampled_from([Decimal(r) for r in ("0", "0.001", "0.0035", "0.006", "0.0125")])
SLIPPAGES = st.sampled_from([Decimal(r) for r in ("0", "0.0005", "0.001", "0.0125")])


@st.composite
def market_case(draw, btc):
    """A product (BTC's or an altcoin's increments), a quote and an order size."""
    kind = draw(st.sampled_from(["btc", "alt", "coarse"]))
    product = btc
    if kind == "alt":
        product = replace(
            btc,
            base_increment=Decimal("0.1"),
            base_min_size=Decimal("0.1"),
            price_increment=Decimal("0.00001"),
            quote_increment=Decimal("0.00001"),
        )
    elif kind == "coarse":
        product = replace(btc, price_increment=Decimal("0.05"), base_increment=Decimal("0.0001"))
    places = -product.price_increment.as_tuple().exponent
    ticks = draw(st.integers(min_value=1, max_value=10**7))
    ask = Decimal(ticks).scaleb(-places)
    bid = max(ask - Decimal(draw(st.integers(0, 50))).scaleb(-places), Decimal(1).scaleb(-places))
    quote = Decimal(draw(st.integers(min_value=0, max_value=10**8))).scaleb(-2)
    base_places = -product.base_increment.as_tuple().exponent
    base = Decimal(draw(st.integers(min_value=0, max_value=10 ** (base_places + 3)))).scaleb(-base_places)
    return product, bid, ask, quote, base


def integer_fill(product, side, bid, ask, fee, slippage, size):
    s = BacktestSettings(fee_rate=fee, slippage_rate=slippage)
    units = Units.for_product(product, size if side is Side.BUY else Decimal(0))
    f = fill_params(product, s, units)
    bid_u, ask_u = units.price(bid), units.price(ask)
    if side is Side.BUY:
        outcome, price, base, fee_u, total = buy_for_quote(units.cash(size), bid_u, ask_u, f)
    else:
        outcome, price, base, fee_u, total = sell_base(units.base(size), bid_u, ask_u, f)
    if outcome != FILLED:
        return REJECT_REASONS[outcome]
    return units.price_decimal(price), units.base_decimal(base), units.cash_decimal(fee_u), units.cash_decimal(total)


def decimal_fill(product, side, bid, ask, fee, slippage, size):
    sized = {"quote_size": size} if side is Side.BUY else {"base_size": size}
    try:
        fill = fill_market_order(
            product=product, side=side, bid=bid, ask=ask, fee_rate=fee, slippage_rate=slippage, **sized
        )
    except FillRejected as exc:
        return exc.reason
    return fill.price, fill.base_size, fill.fee, fill.total


@settings(max_examples=400, deadline=None)
@given(data=st.data(), fee=RATES, slippage=SLIPPAGES, side=st.sampled_from([Side.BUY, Side.SELL]))
def test_integer_fills_equal_the_decimal_fill_model(btc, data, fee, slippage, side):
    product, bid, ask, quote, base = data.draw(market_case(btc))
    size = quote if side is Side.BUY else base
    assert integer_fill(product, side, bid, ask, fee, slippage, size) == decimal_fill(
        product, side, bid, ask, fee, slippage, size
    )


@pytest.mark.parametrize(
    ("side", "size", "reason"),
    [
        (Side.BUY, Decimal("0.50"), "BELOW_MIN_SIZE"),
        (Side.BUY, Decimal("60000000"), "ABOVE_MAX_SIZE"),
        (Side.SELL, Decimal("0.00001"), "BELOW_MIN_SIZE"),
        (Side.SELL, Decimal("4000"), "ABOVE_MAX_SIZE"),
    ],
)
def test_rejections_match_too(btc, side, size, reason):
    args = (btc, side, Decimal("50000.00"), Decimal("50000.00"), Decimal("0.006"), Decimal("0.0005"), size)
    assert integer_fill(*args) == decimal_fill(*args) == reason


def test_a_buy_never_spends_more_than_its_size_fee_included(btc):
    # 100 USD at 0.6 %: the fee's rounding up would tip the largest size over; one increment less is bought.
    price, base, fee, total = integer_fill(
        btc, Side.BUY, Decimal("12345.67"), Decimal("12345.67"), Decimal("0.006"), Decimal("0"), Decimal("100.00")
    )
    assert total <= Decimal("100.00") and total == price * base + fee
    assert (price * (base + btc.base_increment)) * Decimal("1.006") > Decimal("100.00")
