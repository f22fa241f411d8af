"""CoinbaseMarketData against the fake, through the real SDK over HTTPS, with no API key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from market.exchange import PermanentError, RateLimited, TemporaryError
from market.types import Granularity, UnknownProduct
from tests.conftest import SIM_START


def test_products_carry_increments_minimums_and_flags(cb_market, fake_coinbase):
    fake_coinbase.state.product_overrides["DOGE-USD"] = {"cancel_only": True}
    products = {p.product_id: p for p in cb_market.products()}
    assert len(products) == 9
    btc = products["BTC-USD"]
    assert (btc.base_currency, btc.quote_currency) == ("BTC", "USD")
    assert btc.base_increment == Decimal("0.00000001") and btc.quote_increment == Decimal("0.01")
    assert btc.quote_min_size == Decimal("1") and btc.base_max_size == Decimal("3400")
    assert btc.market_orders_allowed
    assert products["DOGE-USD"].cancel_only and not products["DOGE-USD"].market_orders_allowed
    assert not any(r.auth for r in fake_coinbase.requests())  # public: no key needed, none checked


def test_products_are_paged_when_coinbase_pages_them(cb_market, fake_coinbase):
    fake_coinbase.state.page_cap = 4
    assert len(cb_market.products()) == 9
    offsets = [r.query.get("offset", ["0"])[0] for r in fake_coinbase.requests("GET /market/products")]
    assert offsets == ["0", "4", "8"]


def test_unknown_product_is_named(cb_market):
    assert cb_market.product("ETH-USD").base_currency == "ETH"
    with pytest.raises(UnknownProduct, match="NOPE-USD"):
        cb_market.product("NOPE-USD")


def test_candles_beyond_350_are_paged_ascending_complete_and_exact(cb_market, fake_coinbase):
    now = cb_market.now()
    start = now - timedelta(minutes=5 * 1000)
    candles = cb_market.candles("BTC-USD", Granularity.FIVE_MINUTE, start, now)
    expected = fake_coinbase.state.market.candles("BTC-USD", Granularity.FIVE_MINUTE, start, now)
    assert len(candles) == len(expected) == 1000
    assert np.array_equal(candles.time, expected.time)
    for column in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(candles, column), getattr(expected, column))
    assert np.all(np.diff(candles.time) == 300)
    assert candles.time[-1] + 300 <= now.timestamp()  # the forming candle is left out
    requests = fake_coinbase.requests("GET /market/products/BTC-USD/candles")
    assert len(requests) == 3
    for r in requests:
        asked = (int(r.query["end"][0]) - int(r.query["start"][0])) // 300 + 1
        assert asked <= 350 and r.status == 200


def test_fake_refuses_more_than_350_candles_like_coinbase(cb_market):
    now = int(SIM_START.timestamp())
    with pytest.raises(PermanentError, match=r"HTTP 400 INVALID_ARGUMENT: .*less than 350"):
        cb_market.rest.call(
            "get candles",
            cb_market.client.get_public_candles,
            product_id="BTC-USD",
            start=str(now - 351 * 60),
            end=str(now - 60),
            granularity="ONE_MINUTE",
        )


def test_candles_of_a_range_without_a_closed_candle_are_empty(cb_market, fake_coinbase):
    now = cb_market.now()
    assert len(cb_market.candles("BTC-USD", Granularity.ONE_HOUR, now - timedelta(minutes=30), now)) <= 1
    assert len(cb_market.candles("BTC-USD", Granularity.ONE_HOUR, now, now + timedelta(hours=2))) == 0


def test_ticker_has_best_bid_ask_and_last_price(cb_market, fake_coinbase):
    ticker = cb_market.ticker("SOL-USD")
    sim = fake_coinbase.state.market.ticker("SOL-USD")
    assert (ticker.bid, ticker.ask, ticker.price) == (sim.bid, sim.ask, sim.price)
    assert ticker.bid < ticker.ask
    assert ticker.time == SIM_START


def test_a_429_on_a_read_is_rate_limited_and_not_hammered(cb_market, fake_coinbase):
    fake_coinbase.faults.add("GET /market/products/*/ticker", "status", 429)
    with pytest.raises(RateLimited, match="429"):
        cb_market.ticker("BTC-USD")
    assert len(fake_coinbase.requests("GET /market/products/BTC-USD/ticker")) == 1


def test_5xx_on_a_read_is_retried_with_back_off(cb_market, fake_coinbase):
    fake_coinbase.faults.add("GET /market/products/*/ticker", "status", 503, times=2)
    assert cb_market.ticker("BTC-USD").bid > 0
    statuses = [r.status for r in fake_coinbase.requests("GET /market/products/BTC-USD/ticker")]
    assert statuses == [503, 503, 200]


def test_a_read_that_keeps_failing_gives_up_as_temporary(cb_market, fake_coinbase):
    fake_coinbase.faults.add("GET /market/products/*/ticker", "drop", times=None)
    with pytest.raises(TemporaryError, match="connection to Coinbase lost"):
        cb_market.ticker("BTC-USD")
    assert len(fake_coinbase.requests("GET /market/products/BTC-USD/ticker")) == 3


def test_a_slow_answer_times_out(cb_market, fake_coinbase):
    fake_coinbase.faults.add("GET /market/products/*/ticker", "delay", 0.8, times=None)
    cb_market.rest.read_retries = 0
    with pytest.raises(TemporaryError, match=r"did not answer get ticker within 0\.5 s"):
        cb_market.ticker("BTC-USD")


def test_coinbase_market_data_spends_the_request_budget(cb_market, settings):
    from market.cache import CachedMarketData

    settings.MARKET_DATA_RATE_LIMIT = 8
    cached = CachedMarketData(cb_market)
    assert cached.limiter is not None and cached.limiter.rate == 8
    cached.ticker("BTC-USD")
    assert cached.limiter.used() == 1
