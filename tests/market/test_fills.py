from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from market.clock import ManualClock
from market.fills import FillRejected, SimulatedFill, fill_market_order
from market.simulated import SimulatedMarket
from market.types import Side, quantize_down, quantize_up

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
PRODUCTS = SimulatedMarket(seed=0, epoch=_EPOCH, clock=ManualClock(_EPOCH)).products()
BTC = next(p for p in PRODUCTS if p.product_id == "BTC-USD")
DOGE = next(p for p in PRODUCTS if p.product_id == "DOGE-USD")
FEE, SLIP = Decimal("0.006"), Decimal("0.0005")
EIGHT_DP = Decimal("0.00000001")


def buy(quote: str, product=BTC, bid="95000.00", ask="95001.00", fee=FEE, slip=SLIP) -> SimulatedFill:
    return fill_market_order(
        product=product,
        side=Side.BUY,
        bid=Decimal(bid),
        ask=Decimal(ask),
        fee_rate=fee,
        slippage_rate=slip,
        quote_size=Decimal(quote),
    )


def sell(base: str, product=BTC, bid="95000.00", ask="95001.00", fee=FEE, slip=SLIP) -> SimulatedFill:
    return fill_market_order(
        product=product,
        side=Side.SELL,
        bid=Decimal(bid),
        ask=Decimal(ask),
        fee_rate=fee,
        slippage_rate=slip,
        base_size=Decimal(base),
    )


def assert_balanced(fill: SimulatedFill, product, fee_rate: Decimal) -> None:
    assert all(isinstance(v, Decimal) for v in (fill.price, fill.base_size, fill.quote_value, fill.fee, fill.total))
    assert fill.base_size % product.base_increment == 0
    assert fill.price % product.price_increment == 0
    assert fill.quote_value == fill.base_size * fill.price
    assert fill.fee == quantize_up(fill.quote_value * fee_rate, EIGHT_DP) >= 0
    sign = 1 if fill.side is Side.BUY else -1
    assert fill.total == fill.quote_value + sign * fill.fee


def test_buy_by_quote_spends_at_most_the_quote_size_fee_included():
    fill = buy("100.00")
    assert fill.price == Decimal("95048.51")  # 95001 * 1.0005 = 95048.5005, rounded up
    assert fill.base_size == Decimal("0.00104581")  # 100 / 1.006 / 95048.51 = 0.0010458181...
    assert fill.quote_value == Decimal("0.00104581") * Decimal("95048.51")
    assert fill.fee == quantize_up(fill.quote_value * FEE, EIGHT_DP)
    assert fill.total <= Decimal("100.00")
    assert_balanced(fill, BTC, FEE)


def test_sell_by_base_receives_the_bid_less_slippage_and_fee():
    fill = sell("0.123456789")
    assert fill.base_size == Decimal("0.12345678")  # never sells more than asked
    assert fill.price == Decimal("94952.50")  # 95000 * 0.9995, rounded down
    assert fill.total == fill.quote_value - fill.fee
    assert_balanced(fill, BTC, FEE)


def test_buy_by_base_is_supported():
    fill = fill_market_order(
        product=BTC,
        side=Side.BUY,
        bid=Decimal("95000"),
        ask=Decimal("95001"),
        fee_rate=FEE,
        slippage_rate=Decimal("0"),
        base_size=Decimal("0.01"),
    )
    assert fill.price == Decimal("95001.00") and fill.base_size == Decimal("0.01")
    assert fill.total == Decimal("950.01") + quantize_up(Decimal("950.01") * FEE, EIGHT_DP)


def test_without_fee_or_slippage_a_fill_is_at_the_quote():
    fill = buy("1000", product=DOGE, bid="0.30000", ask="0.30001", fee=Decimal("0"), slip=Decimal("0"))
    assert fill.price == Decimal("0.30001") and fill.fee == 0
    assert fill.base_size == quantize_down(Decimal("1000") / Decimal("0.30001"), DOGE.base_increment)
    assert fill.total == fill.quote_value <= 1000


@pytest.mark.parametrize(
    ("kwargs", "reason", "message"),
    [
        ({"quote_size": None, "base_size": None}, "INVALID_SIZE", "exactly one"),
        ({"quote_size": Decimal("10"), "base_size": Decimal("1")}, "INVALID_SIZE", "exactly one"),
        ({"quote_size": Decimal("-5")}, "INVALID_SIZE", "positive"),
        ({"quote_size": Decimal("0.50")}, "BELOW_MIN_SIZE", "minimum of 1 USD"),
        ({"quote_size": Decimal("60000000")}, "ABOVE_MAX_SIZE", "maximum of 50000000 USD"),
        (
            {"side": Side.SELL, "quote_size": None, "base_size": Decimal("0.000000001")},
            "BELOW_MIN_SIZE",
            "minimum of 0.00000001 BTC",
        ),
        (
            {"side": Side.SELL, "quote_size": None, "base_size": Decimal("0.00001")},
            "BELOW_MIN_SIZE",
            "minimum of 1 USD",
        ),
        (
            {"side": Side.SELL, "quote_size": None, "base_size": Decimal("3401")},
            "ABOVE_MAX_SIZE",
            "maximum of 3400 BTC",
        ),
        ({"side": Side.SELL, "quote_size": Decimal("100")}, "INVALID_SIZE", "sized in base"),
        ({"bid": Decimal("0")}, "INVALID_PRICE", "no usable quote"),
        ({"ask": Decimal("-1")}, "INVALID_PRICE", "no usable quote"),
        ({"ask": Decimal("NaN")}, "INVALID_PRICE", "no usable quote"),
        ({"product": replace(BTC, trading_disabled=True)}, "TRADING_DISABLED", "BTC-USD"),
        ({"product": replace(BTC, limit_only=True)}, "TRADING_DISABLED", "market orders"),
    ],
)
def test_each_rejection_has_its_reason(kwargs, reason, message):
    order = {
        "product": BTC,
        "side": Side.BUY,
        "bid": Decimal("95000"),
        "ask": Decimal("95001"),
        "fee_rate": FEE,
        "slippage_rate": SLIP,
        "quote_size": Decimal("100"),
    } | kwargs
    with pytest.raises(FillRejected, match=message) as info:
        fill_market_order(**order)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


def test_floats_never_reach_the_money_math():
    with pytest.raises(TypeError, match="quote_size must be a Decimal"):
        fill_market_order(
            product=BTC,
            side=Side.BUY,
            bid=Decimal(1),
            ask=Decimal(1),
            fee_rate=FEE,
            slippage_rate=SLIP,
            quote_size=10.0,
        )
    with pytest.raises(TypeError, match="fee_rate"):
        buy("100", fee=0.006)


@pytest.mark.parametrize("rate", [Decimal("-0.001"), Decimal("1"), Decimal("NaN")])
def test_rates_outside_zero_to_one_are_a_configuration_error(rate):
    with pytest.raises(ValueError, match="fee_rate must be in"):
        buy("100", fee=rate)
    with pytest.raises(ValueError, match="slippage_rate must be in"):
        buy("100", slip=rate)


products = st.sampled_from(PRODUCTS)
rates = st.decimals(min_value=0, max_value=Decimal("0.02"), places=4)


@st.composite
def quotes(draw, product):
    """A bid and an ask on the product's price grid, ask at or above bid."""
    raw = draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("150000"), places=5))
    bid = quantize_down(raw, product.price_increment)
    assume(bid > 0)
    ask = bid + draw(st.integers(0, 50)) * product.price_increment
    return bid, ask


@given(data=st.data(), fee=rates, slip=rates)
def test_buy_by_quote_never_overspends_and_always_balances(data, fee, slip):
    product = data.draw(products)
    bid, ask = data.draw(quotes(product))
    budget = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2000000"), places=2))
    try:
        fill = fill_market_order(
            product=product, side=Side.BUY, bid=bid, ask=ask, fee_rate=fee, slippage_rate=slip, quote_size=budget
        )
    except FillRejected as e:
        assert e.reason in ("BELOW_MIN_SIZE", "ABOVE_MAX_SIZE")
        return
    assert fill.total <= budget
    assert fill.price >= ask
    assert fill.base_size >= product.base_min_size
    assert_balanced(fill, product, fee)
    # It spends as much as it can: one more increment would not fit the budget.
    more = fill.base_size + product.base_increment
    assert more * fill.price + quantize_up(more * fill.price * fee, EIGHT_DP) > budget


@given(data=st.data(), fee=rates, slip=rates)
def test_sell_by_base_never_sells_more_than_asked_and_always_balances(data, fee, slip):
    product = data.draw(products)
    bid, ask = data.draw(quotes(product))
    size = data.draw(st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal("1000000"), places=9))
    try:
        fill = fill_market_order(
            product=product, side=Side.SELL, bid=bid, ask=ask, fee_rate=fee, slippage_rate=slip, base_size=size
        )
    except FillRejected as e:
        assert e.reason in ("BELOW_MIN_SIZE", "ABOVE_MAX_SIZE", "INVALID_PRICE")
        return
    assert size - product.base_increment < fill.base_size <= size
    assert fill.price <= bid
    assert fill.total <= fill.quote_value
    assert_balanced(fill, product, fee)
