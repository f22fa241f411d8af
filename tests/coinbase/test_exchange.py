"""CoinbaseExchange against the fake, through the real SDK over HTTPS with JWT auth."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from market.coinbase import CoinbaseExchange, KeyPermissions
from market.coinbase.exchange import accepted_order_id
from market.exchange import OrderRejected, PermanentError, TemporaryError, UnknownOrderOutcome
from market.types import OrderStatus, Side
from tests.coinbase.conftest import make_key

REASONS = [
    "INSUFFICIENT_FUND",
    "INVALID_SIZE_PRECISION",
    "INVALID_PRICE_PRECISION",
    "UNSUPPORTED_ORDER_CONFIGURATION",
    "INVALID_PRODUCT_ID",
    "ORDER_ENTRY_DISABLED",
    "INELIGIBLE_PAIR",
    "PREVIEW_INSUFFICIENT_FUND",
    "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
    "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
    "UNKNOWN_FAILURE_REASON",
]


@pytest.fixture
def btc(cb_market):
    return cb_market.product("BTC-USD")


def buy(exchange, product, quote="100", cid="cid-1"):
    return exchange.place_market_order(client_order_id=cid, product=product, side=Side.BUY, quote_size=Decimal(quote))


def test_every_private_request_carries_a_valid_jwt(cb_exchange, fake_coinbase):
    cb_exchange.balances()
    cb_exchange.key_permissions()
    assert [r.auth for r in fake_coinbase.requests()] == ["ok", "ok"]


def test_a_key_coinbase_does_not_know_is_a_permanent_error(coinbase_settings, fake_coinbase):
    other = make_key()
    coinbase_settings.COINBASE_API_SECRET = other.pem
    with pytest.raises(PermanentError, match="HTTP 401"):
        CoinbaseExchange.from_settings().balances()
    assert fake_coinbase.requests()[0].auth.startswith("InvalidSignatureError")


def test_balances_follow_every_page_of_accounts(cb_exchange, fake_coinbase):
    fake_coinbase.state.page_cap = 3
    fake_coinbase.state.available["ETH"] = Decimal("1.5")
    fake_coinbase.state.held["ETH"] = Decimal("0.25")
    balances = cb_exchange.balances()
    assert len(balances) == 11  # nine coins, USD and USDC
    assert balances["USD"].available == Decimal("1000")
    assert (balances["ETH"].available, balances["ETH"].hold) == (Decimal("1.5"), Decimal("0.25"))
    assert len(fake_coinbase.requests("GET /accounts")) == 4


def test_buy_by_quote_fills_and_reports_base_sizes(cb_exchange, fake_coinbase, btc):
    fake_coinbase.state.fills_per_order = 3
    order = buy(cb_exchange, btc, "100")
    assert order.status is OrderStatus.FILLED and order.client_order_id == "cid-1"
    fake_fills = fake_coinbase.state.all_fills()
    assert len(order.fills) == 3
    assert [f.size for f in order.fills] == [f.base for f in fake_fills]  # size_in_quote converted back
    assert all(f.size_in_quote for f in fake_fills)
    assert sum(f.size for f in order.fills) == order.filled_size
    assert sum(f.fee for f in order.fills) == order.fees > 0
    assert {f.fee_currency for f in order.fills} == {"USD"}
    spent = sum(f.price * f.size + f.fee for f in order.fills)
    assert spent <= Decimal("100") and fake_coinbase.state.available["USD"] == Decimal("1000") - spent


def test_sell_by_base_fills(cb_exchange, fake_coinbase, btc):
    fake_coinbase.state.available["BTC"] = Decimal("0.01")
    order = cb_exchange.place_market_order(
        client_order_id="s1", product=btc, side=Side.SELL, base_size=Decimal("0.004")
    )
    assert order.status is OrderStatus.FILLED and order.filled_size == Decimal("0.004")
    assert fake_coinbase.state.available["BTC"] == Decimal("0.006")
    assert not fake_coinbase.state.all_fills()[0].size_in_quote


def test_sizes_are_rounded_down_to_the_increments_before_sending(cb_exchange, fake_coinbase, btc):
    fake_coinbase.state.available["BTC"] = Decimal("1")
    buy(cb_exchange, btc, "25.129")
    cb_exchange.place_market_order(client_order_id="s1", product=btc, side=Side.SELL, base_size=Decimal("0.123456789"))
    sent = [r.body["order_configuration"]["market_market_ioc"] for r in fake_coinbase.requests("POST /orders")]
    assert sent == [{"quote_size": "25.12"}, {"base_size": "0.12345678"}]


@pytest.mark.parametrize(
    ("side", "sizes", "reason"),
    [
        (Side.BUY, {"quote_size": Decimal("0.999")}, "BELOW_MIN_SIZE"),
        (Side.SELL, {"base_size": Decimal("0.000000009")}, "BELOW_MIN_SIZE"),
        (Side.BUY, {"quote_size": Decimal("60000000")}, "ABOVE_MAX_SIZE"),
        (Side.SELL, {"quote_size": Decimal("10")}, "INVALID_SIZE"),
        (Side.BUY, {}, "INVALID_SIZE"),
    ],
)
def test_orders_that_cannot_pass_are_rejected_before_sending(cb_exchange, fake_coinbase, btc, side, sizes, reason):
    with pytest.raises(OrderRejected) as info:
        cb_exchange.place_market_order(client_order_id="x", product=btc, side=side, **sizes)
    assert info.value.reason == reason and info.value.message
    assert fake_coinbase.order_posts() == []


def test_product_not_accepting_market_orders_is_rejected_before_sending(cb_exchange, cb_market, fake_coinbase):
    fake_coinbase.state.product_overrides["BTC-USD"] = {"limit_only": True}
    with pytest.raises(OrderRejected, match="TRADING_DISABLED"):
        buy(cb_exchange, cb_market.product("BTC-USD"))
    assert fake_coinbase.order_posts() == []


@pytest.mark.parametrize("reason", REASONS)
def test_each_rejection_reason_becomes_order_rejected(cb_exchange, fake_coinbase, btc, reason):
    fake_coinbase.faults.add("POST /orders", "reject", reason)
    with pytest.raises(OrderRejected) as info:
        buy(cb_exchange, btc)
    assert info.value.reason == reason
    assert fake_coinbase.order_posts() == ["cid-1"]
    assert fake_coinbase.state.orders == []


def test_insufficient_funds_on_coinbase_is_a_rejection_with_its_message(cb_exchange, fake_coinbase, btc):
    fake_coinbase.state.available["USD"] = Decimal("5")
    with pytest.raises(OrderRejected) as info:
        buy(cb_exchange, btc, "50")
    assert (info.value.reason, info.value.message) == ("INSUFFICIENT_FUND", "Insufficient balance in source account")


def test_success_with_unknown_failure_reason_is_an_accepted_order(cb_exchange, fake_coinbase, btc):
    """coinbase-advanced-py #49: the legacy extras say UNKNOWN_FAILURE_REASON on a placed order."""
    fake_coinbase.faults.add("POST /orders", "legacy-success")
    order = buy(cb_exchange, btc)
    assert order.status is OrderStatus.FILLED
    assert order.order_id == fake_coinbase.state.orders[0].order_id  # not the top-level legacy id


def test_accepted_without_an_order_id_is_an_unknown_outcome():
    with pytest.raises(UnknownOrderOutcome):
        accepted_order_id({"success": True, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "legacy"})


@pytest.mark.parametrize(
    ("kind", "value", "created"),
    [("status", 503, False), ("status", 500, False), ("status", 429, False), ("drop", None, True)],
)
def test_no_answer_to_an_order_is_an_unknown_outcome_and_never_resent(
    cb_exchange, fake_coinbase, btc, kind, value, created
):
    fake_coinbase.faults.add("POST /orders", kind, value)
    with pytest.raises(UnknownOrderOutcome):
        buy(cb_exchange, btc)
    assert fake_coinbase.order_posts() == ["cid-1"]
    assert len(fake_coinbase.state.orders) == int(created)


@pytest.mark.slow
def test_an_order_answer_slower_than_the_timeout_is_an_unknown_outcome(cb_exchange, fake_coinbase, btc):
    fake_coinbase.faults.add("POST /orders", "delay", 0.8)
    with pytest.raises(UnknownOrderOutcome, match="did not answer"):
        buy(cb_exchange, btc)
    assert fake_coinbase.order_posts() == ["cid-1"]


def test_one_client_order_id_is_one_order_on_coinbase(cb_exchange, fake_coinbase, btc):
    first = buy(cb_exchange, btc)
    again = buy(cb_exchange, btc)
    assert first.order_id == again.order_id
    assert len(fake_coinbase.state.orders) == 1 and len(fake_coinbase.order_posts()) == 2


def test_an_accepted_order_that_cannot_be_read_back_is_open_with_its_id(cb_exchange, fake_coinbase, btc):
    fake_coinbase.faults.add("GET /orders/historical/*", "status", 503, times=3)
    order = buy(cb_exchange, btc)
    assert order.status is OrderStatus.OPEN and order.order_id == fake_coinbase.state.orders[0].order_id
    assert fake_coinbase.order_posts() == ["cid-1"]


def test_get_order_by_id(cb_exchange, fake_coinbase, btc):
    placed = buy(cb_exchange, btc)
    assert cb_exchange.get_order(placed.order_id) == placed
    assert cb_exchange.get_order("00000000-0000-0000-0000-000000000000") is None


def test_lookup_by_client_id_scans_the_order_history_when_the_id_is_new_to_this_process(
    coinbase_settings, cb_exchange, fake_coinbase, btc
):
    fake_coinbase.state.page_cap = 2
    fake_coinbase.state.available["USD"] = Decimal("100000")
    for i in range(5):
        buy(cb_exchange, btc, "10", cid=f"cid-{i}")
    fresh = CoinbaseExchange.from_settings()  # a restarted process knows no order ids
    found = fresh.get_order_by_client_id("cid-0")  # the oldest: on the last page
    assert found is not None and found.client_order_id == "cid-0" and found.status is OrderStatus.FILLED
    assert len(found.fills) == 1
    assert fresh.get_order_by_client_id("never-sent") is None
    assert Counter(fake_coinbase.order_posts()) == Counter(f"cid-{i}" for i in range(5))


def test_lookup_does_not_claim_absence_when_the_history_is_too_long(coinbase_settings, fake_coinbase, btc):
    from market.coinbase import exchange as module

    fake_coinbase.state.page_cap = 1
    fake_coinbase.state.available["USD"] = Decimal("100000")
    placer = CoinbaseExchange.from_settings()
    for i in range(4):
        buy(placer, btc, "10", cid=f"cid-{i}")
    fresh = CoinbaseExchange.from_settings()
    fresh.rest.retry_base_seconds = 0.01
    pages, module.ORDER_LOOKUP_MAX_PAGES = module.ORDER_LOOKUP_MAX_PAGES, 2
    try:
        with pytest.raises(TemporaryError, match="stopped after 2 pages"):
            fresh.get_order_by_client_id("never-sent")
    finally:
        module.ORDER_LOOKUP_MAX_PAGES = pages


def test_partial_fill_is_cancelled_with_the_fills_it_got(cb_exchange, fake_coinbase, btc):
    fake_coinbase.faults.add("POST /orders", "partial", "0.5")
    order = buy(cb_exchange, btc)
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_size == sum(f.size for f in order.fills) > 0
    assert order.filled_size == fake_coinbase.state.all_fills()[0].base


def test_fills_that_lag_the_order_keep_it_open_until_they_arrive(cb_exchange, fake_coinbase, btc):
    fake_coinbase.faults.add("POST /orders", "fills-lag", 1)
    order = buy(cb_exchange, btc)
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.fills == ()
    later = cb_exchange.get_order_by_client_id("cid-1")
    assert later.status is OrderStatus.FILLED and len(later.fills) == 1


def test_resting_order_is_open_then_cancelled(cb_exchange, fake_coinbase, btc):
    fake_coinbase.faults.add("POST /orders", "open")
    order = buy(cb_exchange, btc)
    assert order.status is OrderStatus.OPEN and order.fills == ()
    assert cb_exchange.balances()["USD"].hold == Decimal("100")
    assert cb_exchange.cancel([order.order_id, "no-such-order"]) == {order.order_id: True, "no-such-order": False}
    assert cb_exchange.get_order(order.order_id).status is OrderStatus.CANCELLED
    assert cb_exchange.balances()["USD"] == type(cb_exchange.balances()["USD"])("USD", Decimal("1000"), Decimal("0"))


def test_fills_listing_pages_and_filters(cb_exchange, fake_coinbase, btc, cb_market):
    fake_coinbase.state.page_cap = 2
    fake_coinbase.state.fills_per_order = 2
    fake_coinbase.state.available["ETH"] = Decimal("1")
    first = buy(cb_exchange, btc, "20", cid="a")
    cb_exchange.place_market_order(
        client_order_id="b", product=cb_market.product("ETH-USD"), side=Side.SELL, base_size=Decimal("0.01")
    )
    everything = cb_exchange.fills()
    assert len(everything) == 4
    assert [f.time for f in everything] == sorted(f.time for f in everything)
    assert {f.product_id for f in cb_exchange.fills(product_id="ETH-USD")} == {"ETH-USD"}
    assert cb_exchange.fills(order_ids=[first.order_id]) == list(first.fills)


def test_fills_listing_by_time(cb_exchange, fake_coinbase, btc, cb_clock):
    buy(cb_exchange, btc, "20", cid="early")
    cb_clock.shift(timedelta(hours=1))
    since = cb_exchange.fills()[0].time + timedelta(minutes=30)
    later = buy(cb_exchange, btc, "20", cid="late")
    assert cb_exchange.fills(start=since) == list(later.fills)
    assert len(cb_exchange.fills(end=since)) == 1


def test_fee_rate_is_the_taker_rate_and_cached(cb_exchange, fake_coinbase):
    fake_coinbase.state.taker_fee_rate = Decimal("0.0025")
    assert cb_exchange.fee_rate() == Decimal("0.0025")
    fake_coinbase.state.taker_fee_rate = Decimal("0.004")
    assert cb_exchange.fee_rate() == Decimal("0.0025")
    assert len(fake_coinbase.requests("GET /transaction_summary")) == 1


def test_key_permissions(cb_exchange, fake_coinbase):
    fake_coinbase.state.permissions["can_trade"] = False
    assert cb_exchange.key_permissions() == KeyPermissions(
        can_view=True,
        can_trade=False,
        can_transfer=False,
        portfolio_uuid="fake-portfolio-0001",
        portfolio_type="DEFAULT",
    )


def test_cdp_key_file_trades_too(coinbase_settings, coinbase_key, fake_coinbase, tmp_path, btc):
    import json

    path = tmp_path / "cdp_api_key.json"
    path.write_text(json.dumps({"name": coinbase_key.name, "privateKey": coinbase_key.pem}))
    coinbase_settings.COINBASE_API_KEY = coinbase_settings.COINBASE_API_SECRET = ""
    coinbase_settings.COINBASE_KEY_FILE = str(path)
    assert buy(CoinbaseExchange.from_settings(), btc).status is OrderStatus.FILLED


def test_failures_never_log_the_key_or_a_jwt(cb_exchange, coinbase_settings, coinbase_key, fake_coinbase, btc, caplog):
    """Errors on every path, with the SDK's own handler and ours both listening at DEBUG."""
    import io
    import logging

    from market.coinbase.client import SDK_LOGGERS

    sdk_handlers = [
        h for name in SDK_LOGGERS for h in logging.getLogger(name).handlers if type(h) is logging.StreamHandler
    ]
    sdk_output = io.StringIO()
    previous = [h.setStream(sdk_output) for h in sdk_handlers]
    caplog.set_level(logging.DEBUG)
    try:
        fake_coinbase.faults.add("POST /orders", "status", 401)
        fake_coinbase.faults.add("GET /accounts", "status", 500, times=None)
        with pytest.raises(OrderRejected):
            buy(cb_exchange, btc)
        with pytest.raises(TemporaryError):
            cb_exchange.balances()
        coinbase_settings.COINBASE_API_SECRET = make_key().pem
        with pytest.raises(PermanentError):
            CoinbaseExchange.from_settings().key_permissions()
    finally:
        for handler, stream in zip(sdk_handlers, previous):
            handler.setStream(stream)
    logged = sdk_output.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Error" in logged  # the SDK did log, through its handler
    secret_line = coinbase_key.pem.splitlines()[1]
    for forbidden in (secret_line, "PRIVATE KEY", "Bearer ", "eyJ"):
        assert forbidden not in logged
