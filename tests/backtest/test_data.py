"""The prices a backtest fills at are the replay market's quotes, exactly; amounts convert exactly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from market.clock import ManualClock
from market.replay import ReplayMarket
from market.types import Candles
from tests.backtest.conftest import G5, T0, walk
from trading.backtest.data import bid_ask, quote_units
from trading.backtest.units import Units, UnitsError


def replay_quotes(candles: Candles, product, spread=Decimal(0)) -> list[tuple[Decimal, Decimal, Decimal]]:
    """The live replay market's ticker just after each candle closes."""
    clock = ManualClock(datetime.fromtimestamp(int(candles.time[0]), UTC))
    market = ReplayMarket(product, candles, G5, clock, spread_rate=spread)
    out = []
    for t in candles.time:
        clock.set(datetime.fromtimestamp(int(t) + G5.seconds + 1, UTC))
        ticker = market.ticker(product.product_id)
        out.append((ticker.price, ticker.bid, ticker.ask))
    return out


def test_quotes_equal_the_replay_markets_including_gaps_and_ties(btc):
    candles = walk(400, seed=5, price=2.0)
    opens = np.array(candles.open)
    # Values on an exact binary half (0.125 -> 0.12, half to even) and decimal "ties" that are not
    # exactly representable (2.675 is 2.67499999... as a float): Decimal decides those.
    opens[1:9] = [0.125, 0.375, 2.675, 1.005, 0.135, 7.125, 0.625, 3.145]
    candles = Candles(candles.time, opens, candles.high, candles.low, candles.close, candles.volume)
    candles = candles[np.r_[0:50, 52:200, 201:400]]  # two gaps
    units = Units.for_product(btc)
    price = quote_units(candles, G5, btc, units)
    expected = [p for p, _, _ in replay_quotes(candles, btc)]
    assert [units.price_decimal(int(v)) for v in price] == expected


def test_bid_and_ask_equal_the_replay_markets_with_a_spread(btc):
    candles = walk(200, seed=6)
    units = Units.for_product(btc)
    spread = Decimal("0.0013")
    price = quote_units(candles, G5, btc, units)
    bid, ask = bid_ask(price, spread, btc, units)
    live = replay_quotes(candles, btc, spread)
    assert [(units.price_decimal(int(b)), units.price_decimal(int(a))) for b, a in zip(bid, ask)] == [
        (b, a) for _, b, a in live
    ]


def test_units_hold_every_amount_exactly(btc):
    units = Units.for_product(btc, Decimal("1000.05"))
    assert (units.base_places, units.price_places, units.cash_places) == (8, 2, 10)
    assert units.cash(Decimal("1000.05")) == 10_000_500_000_000
    assert units.cash_decimal(units.cash(Decimal("0.12345678"))) == Decimal("0.12345678")
    with pytest.raises(UnitsError, match="decimal places"):
        units.base(Decimal("0.000000001"))
    doge = replace(btc, base_increment=Decimal("0.1"), base_min_size=Decimal("0.1"), price_increment=Decimal("0.00001"))
    assert Units.for_product(doge).cash_places == 8  # fees need 8 places: prices get finer units
    assert Units.for_product(doge).price_places == 7


def test_a_price_that_rounds_to_nothing_is_refused(btc):
    tiny = walk(10, price=0.001, start=T0)
    with pytest.raises(ValueError, match="rounds to zero"):
        quote_units(tiny, G5, btc, Units.for_product(btc))
