"""Position accounting from fills: FIFO tranches, fees and P&L, exact in Decimal."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.types import Side
from trading.accounting import FillRecord, PositionState, apply_fill, replay

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D = Decimal


def fill(
    n: int, side: Side, price: str, size: str, fee: str, fee_currency: str = "USD", trade_id: str | None = None
) -> FillRecord:
    return FillRecord(
        trade_id=trade_id or f"t{n:04d}",
        side=side,
        price=D(price),
        size=D(size),
        fee=D(fee),
        fee_currency=fee_currency,
        time=T0 + timedelta(minutes=n),
    )


def fold(fills: list[FillRecord]) -> tuple[PositionState, list[Decimal]]:
    state, realised = PositionState(), []
    for f in fills:
        state, r = apply_fill(state, f)
        realised.append(r)
    return state, realised


# Two tranches: 1 @ 100 (fee 0.60) and 2 @ 110 (fee 1.32); cost 100.60 + 221.32 = 321.92.
TWO_BUYS = [fill(1, Side.BUY, "100", "1", "0.60"), fill(2, Side.BUY, "110", "2", "1.32")]


def test_two_buys_then_sell_all_realises_proceeds_less_fees_less_cost():
    sell = fill(3, Side.SELL, "120", "3", "2.16")
    state, realised = fold([*TWO_BUYS, sell])

    # Proceeds 360 - 2.16 sell fee - 321.92 cost (buy fees included).
    assert realised == [D("0"), D("0"), D("35.92")]
    assert state.realised_pnl == D("35.92")
    assert state.lots == ()
    assert state.base_size == 0
    assert state.cost_basis == 0
    assert state.average_entry is None
    assert state.opened_at is None
    assert state.last_buy_price is None
    assert state.fees_paid == D("0.60") + D("1.32") + D("2.16")


def test_fifo_partial_sell_consumes_oldest_tranche_first():
    sell = fill(3, Side.SELL, "120", "1.5", "1.08")
    state, realised = fold([*TWO_BUYS, sell])

    # The first tranche goes whole (100.60); a quarter of the second goes with it (221.32 / 4 = 55.33).
    assert len(state.lots) == 1
    lot = state.lots[0]
    assert lot.trade_id == "t0002"
    assert lot.entry_price == D("110")
    assert lot.size == D("1.5")
    assert lot.cost == D("165.99")
    assert state.opened_at == T0 + timedelta(minutes=2)
    # 180 proceeds - 1.08 fee - (100.60 + 55.33).
    assert realised[-1] == D("22.99")
    assert state.realised_pnl == D("22.99")
    assert state.last_buy_price == D("110")


def test_partial_sell_within_first_tranche_leaves_later_tranche_untouched():
    sell = fill(3, Side.SELL, "90", "0.25", "0")
    state, realised = fold([*TWO_BUYS, sell])

    assert [lot.size for lot in state.lots] == [D("0.75"), D("2")]
    assert [lot.cost for lot in state.lots] == [D("75.45"), D("221.32")]
    assert realised[-1] == D("22.5") - D("25.15")


def test_average_entry_includes_buy_fees():
    state, _ = fold(TWO_BUYS)

    assert state.base_size == D("3")
    assert state.cost_basis == D("321.92")
    assert state.average_entry == D("321.92") / D("3")
    assert state.opened_at == T0 + timedelta(minutes=1)
    assert state.last_buy_price == D("110")


def test_unrealised_pnl_at_a_mark_is_value_less_cost_basis():
    state, _ = fold(TWO_BUYS)

    assert state.unrealised_pnl(D("105")) == D("315") - D("321.92")
    assert state.unrealised_pnl(D("120")) == D("360") - D("321.92")
    assert PositionState().unrealised_pnl(D("120")) == 0


def test_selling_more_than_held_raises_value_error():
    state, _ = fold(TWO_BUYS)

    with pytest.raises(ValueError, match="exceeds the position"):
        apply_fill(state, fill(3, Side.SELL, "120", "3.00000001", "0"))
    with pytest.raises(ValueError, match="exceeds the position"):
        apply_fill(PositionState(), fill(1, Side.SELL, "120", "0.1", "0"))


def test_sell_whose_base_fee_tips_it_over_the_position_raises_value_error():
    state, _ = fold(TWO_BUYS)

    with pytest.raises(ValueError, match="exceeds the position"):
        apply_fill(state, fill(3, Side.SELL, "120", "3", "0.001", fee_currency="BTC"))


def test_base_currency_fee_on_buy_reduces_base_received_and_is_valued_at_fill_price():
    buy = fill(1, Side.BUY, "100", "1", "0.01", fee_currency="BTC")

    assert buy.base_delta == D("0.99")
    assert buy.quote_delta == D("-100")
    assert buy.fee_in_quote == D("1.00")
    state, realised = apply_fill(PositionState(), buy)
    assert realised == 0
    assert state.base_size == D("0.99")
    assert state.fees_paid == D("1.00")
    # 100 USD bought 0.99 BTC: the fee is already in the cost through the smaller size.
    assert state.cost_basis == D("100")
    assert state.average_entry == D("100") / D("0.99")


def test_base_currency_fee_round_trip_at_same_price_loses_exactly_the_fee():
    buy = fill(1, Side.BUY, "100", "1", "0.01", fee_currency="BTC")
    state, _ = apply_fill(PositionState(), buy)
    sell = fill(2, Side.SELL, "100", "0.99", "0")
    state, realised = apply_fill(state, sell)

    # Paid 100 USD, got 99 USD back: the 1 USD lost is the base fee, counted once.
    assert realised == D("-1")
    assert state.realised_pnl == -state.fees_paid


def test_base_currency_fee_on_sell_consumes_extra_base():
    state, _ = fold([fill(1, Side.BUY, "100", "1", "0")])
    sell = fill(2, Side.SELL, "110", "0.5", "0.005", fee_currency="BTC")

    assert sell.base_delta == D("-0.505")
    assert sell.quote_delta == D("55")
    state, realised = apply_fill(state, sell)
    assert state.base_size == D("0.495")
    assert state.cost_basis == D("49.5")
    assert realised == D("55") - D("50.5")
    assert state.fees_paid == D("0.55")


def test_replay_sorts_fills_by_time_then_trade_id():
    fills = [*TWO_BUYS, fill(3, Side.SELL, "120", "1.5", "1.08")]

    assert replay(list(reversed(fills))) == fold(fills)[0]
    assert replay([]) == PositionState()


# --- the books balance ------------------------------------------------------
prices = st.decimals(min_value=D("0.0001"), max_value=D("200000"), places=4)
sizes = st.decimals(min_value=D("0.00000001"), max_value=D("1000"), places=8)
fee_rates = st.decimals(min_value=D("0"), max_value=D("0.01"), places=4)
fractions = st.decimals(min_value=D("0"), max_value=D("1"), places=3)
steps = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), prices, sizes, fee_rates, st.booleans(), fractions),
    min_size=1,
    max_size=25,
)
FEE_PLACES = D("0.00000001")


@settings(max_examples=100, deadline=None)
@given(steps=steps, starting_cash=st.decimals(min_value=D("0"), max_value=D("10000000"), places=2))
def test_random_fills_books_balance_exactly(steps, starting_cash):
    fills: list[FillRecord] = []
    state = PositionState()
    cash = starting_cash
    for n, (side, price, size, fee_rate, fee_in_base, fraction) in enumerate(steps):
        if side is Side.SELL:
            held = state.base_size
            size = (held * fraction).quantize(FEE_PLACES, rounding="ROUND_DOWN")
            if size <= 0:
                continue
        fee = (size * fee_rate).quantize(FEE_PLACES) if fee_in_base else (price * size * fee_rate).quantize(FEE_PLACES)
        if side is Side.SELL and fee_in_base:
            # The exchange takes a base fee on top of what is sold: keep it within the position.
            size = ((state.base_size - fee) if size + fee > state.base_size else size).quantize(FEE_PLACES)
            if size <= 0:
                continue
        f = FillRecord(
            trade_id=f"t{n:04d}",
            side=side,
            price=price,
            size=size,
            fee=fee,
            fee_currency="BTC" if fee_in_base else "USD",
            time=T0 + timedelta(seconds=n),
        )
        fills.append(f)
        state, _ = apply_fill(state, f)
        cash += f.quote_delta

        assert state.base_size >= 0
        assert all(lot.size > 0 and lot.cost >= 0 for lot in state.lots)
        assert cash + state.cost_basis == starting_cash + state.realised_pnl

    assert starting_cash + sum((f.quote_delta for f in fills), D("0")) == cash
    assert state.base_size == sum((f.base_delta for f in fills), D("0"))
    assert state.fees_paid == sum((f.fee_in_quote for f in fills), D("0"))
    assert replay(fills) == state
