"""The paper exchange: fills from market.fills, a wallet in the database, idempotent orders."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from market.cache import CachedMarketData
from market.exchange import Exchange, OrderRejected
from market.fills import FillRejected, SimulatedFill, fill_market_order
from market.models import PaperBalance, PaperOrder
from market.paper import INSUFFICIENT_FUND, PaperExchange, paper_deposit
from market.simulated import SimulatedMarket
from market.types import ExchangeOrder, OrderStatus, Side

FEE = Decimal("0.006")
SLIP = Decimal("0.0005")
START_USD = Decimal("1000")

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["cached", "direct"])
def source(request, sim: SimulatedMarket):
    """The simulated market behind the cache, or on its own: the paper exchange works on either."""
    return CachedMarketData(sim) if request.param == "cached" else sim


@pytest.fixture
def paper(source) -> PaperExchange:
    paper_deposit("USD", START_USD)
    return PaperExchange(source, fee_rate=FEE, slippage_rate=SLIP)


@pytest.fixture
def btc(sim: SimulatedMarket):
    return sim.product("BTC-USD")


def expected_fill(market, product, side: Side, **size) -> SimulatedFill:
    """What the fill model gives at the market's current bid and ask."""
    ticker = market.ticker(product.product_id)
    return fill_market_order(
        product=product, side=side, bid=ticker.bid, ask=ticker.ask, fee_rate=FEE, slippage_rate=SLIP, **size
    )


def balance(paper: PaperExchange, currency: str) -> Decimal:
    b = paper.balances().get(currency)
    return b.available if b else Decimal("0")


def order_total(order: ExchangeOrder) -> Decimal:
    """Quote debited (BUY) or credited (SELL) by a filled order, from its one fill."""
    (f,) = order.fills
    value = f.price * f.size
    return value + f.fee if f.side is Side.BUY else value - f.fee


def test_paper_exchange_satisfies_the_exchange_port(paper):
    assert isinstance(paper, Exchange)
    assert paper.capabilities.live_money is False
    assert paper.fee_rate() == FEE


def test_buy_by_quote_size_debits_exactly_the_fill_total_and_credits_base(paper, source, btc):
    expected = expected_fill(source, btc, Side.BUY, quote_size=Decimal("100"))

    order = paper.place_market_order(client_order_id="buy-1", product=btc, side=Side.BUY, quote_size=Decimal("100"))

    assert order.status is OrderStatus.FILLED
    assert order.client_order_id == "buy-1"
    assert order.filled_size == expected.base_size
    assert order.average_price == expected.price
    assert order.fees == expected.fee
    (f,) = order.fills
    assert (f.price, f.size, f.fee, f.fee_currency) == (expected.price, expected.base_size, expected.fee, "USD")
    assert expected.total <= Decimal("100")
    assert balance(paper, "USD") == START_USD - expected.total
    assert balance(paper, "BTC") == expected.base_size
    assert order_total(order) == expected.total


def test_buy_fills_at_ask_plus_slippage_rounded_up(paper, source, btc):
    ticker = source.ticker("BTC-USD")
    order = paper.place_market_order(client_order_id="buy-1", product=btc, side=Side.BUY, quote_size=Decimal("100"))

    assert order.average_price >= ticker.ask * (1 + SLIP)
    assert order.average_price - ticker.ask * (1 + SLIP) < btc.price_increment


def test_sell_credits_quote_value_less_fee(paper, source, btc):
    paper.place_market_order(client_order_id="buy-1", product=btc, side=Side.BUY, quote_size=Decimal("500"))
    usd_before, btc_before = balance(paper, "USD"), balance(paper, "BTC")
    expected = expected_fill(source, btc, Side.SELL, base_size=btc_before)

    order = paper.place_market_order(client_order_id="sell-1", product=btc, side=Side.SELL, base_size=btc_before)

    assert order.status is OrderStatus.FILLED
    assert expected.total == expected.quote_value - expected.fee
    assert balance(paper, "USD") == usd_before + expected.quote_value - expected.fee
    assert balance(paper, "BTC") == 0
    assert order_total(order) == expected.total


def test_same_client_order_id_twice_returns_first_order_and_moves_money_once(paper, source, btc, clock):
    first = paper.place_market_order(client_order_id="once", product=btc, side=Side.BUY, quote_size=Decimal("100"))
    usd, base = balance(paper, "USD"), balance(paper, "BTC")
    clock.advance(timedelta(minutes=7))  # the price has moved: a second fill would differ

    again = paper.place_market_order(client_order_id="once", product=btc, side=Side.BUY, quote_size=Decimal("100"))
    different = paper.place_market_order(client_order_id="once", product=btc, side=Side.SELL, base_size=base)

    assert again.order_id == first.order_id == different.order_id
    assert again.side is different.side is Side.BUY
    assert again.filled_size == first.filled_size
    assert again.average_price == first.average_price
    assert (balance(paper, "USD"), balance(paper, "BTC")) == (usd, base)
    assert PaperOrder.objects.filter(client_order_id="once").count() == 1
    assert PaperOrder.objects.count() == 1


def test_empty_client_order_id_is_refused_before_anything_moves(paper, btc):
    with pytest.raises(ValueError, match="client_order_id is required"):
        paper.place_market_order(client_order_id="", product=btc, side=Side.BUY, quote_size=Decimal("100"))
    assert PaperOrder.objects.count() == 0
    assert balance(paper, "USD") == START_USD


def test_buy_beyond_funds_is_rejected_as_insufficient_fund_and_recorded(paper, btc):
    with pytest.raises(OrderRejected) as info:
        paper.place_market_order(client_order_id="big", product=btc, side=Side.BUY, quote_size=Decimal("5000"))

    assert info.value.reason == INSUFFICIENT_FUND == "INSUFFICIENT_FUND"
    row = PaperOrder.objects.get(client_order_id="big")
    assert row.status == OrderStatus.REJECTED.value
    assert row.reject_reason == "INSUFFICIENT_FUND"
    assert row.reject_message == info.value.message
    assert "USD" in row.reject_message
    assert "1000" in row.reject_message
    assert balance(paper, "USD") == START_USD
    assert balance(paper, "BTC") == 0


def test_sell_without_the_base_is_rejected_as_insufficient_fund(paper, btc):
    with pytest.raises(OrderRejected) as info:
        paper.place_market_order(client_order_id="short", product=btc, side=Side.SELL, base_size=Decimal("0.01"))

    assert info.value.reason == INSUFFICIENT_FUND
    assert "BTC" in info.value.message
    assert PaperOrder.objects.get(client_order_id="short").status == OrderStatus.REJECTED.value
    assert balance(paper, "USD") == START_USD
    assert balance(paper, "BTC") == 0


def test_rejected_order_retried_with_same_id_is_rejected_again_not_refilled(paper, btc):
    with pytest.raises(OrderRejected):
        paper.place_market_order(client_order_id="big", product=btc, side=Side.BUY, quote_size=Decimal("5000"))
    paper_deposit("USD", Decimal("10000"))

    with pytest.raises(OrderRejected) as info:
        paper.place_market_order(client_order_id="big", product=btc, side=Side.BUY, quote_size=Decimal("5000"))

    assert info.value.reason == INSUFFICIENT_FUND
    assert balance(paper, "USD") == START_USD + Decimal("10000")
    assert PaperOrder.objects.count() == 1


def test_order_below_minimum_is_rejected_with_fill_model_reason(paper, btc):
    with pytest.raises(OrderRejected) as info:
        paper.place_market_order(client_order_id="tiny", product=btc, side=Side.BUY, quote_size=Decimal("0.50"))

    assert info.value.reason == FillRejected.BELOW_MIN_SIZE == "BELOW_MIN_SIZE"
    assert "below the minimum" in info.value.message
    row = PaperOrder.objects.get(client_order_id="tiny")
    assert row.status == OrderStatus.REJECTED.value
    assert row.reject_reason == "BELOW_MIN_SIZE"
    assert row.reject_message == info.value.message
    assert balance(paper, "USD") == START_USD


def test_get_order_by_client_id_returns_none_for_unknown_and_order_for_known(paper, btc):
    assert paper.get_order_by_client_id("nope") is None
    placed = paper.place_market_order(client_order_id="known", product=btc, side=Side.BUY, quote_size=Decimal("50"))

    found = paper.get_order_by_client_id("known")

    assert found is not None
    assert found.order_id == placed.order_id
    assert found.status is OrderStatus.FILLED
    assert found.filled_size == placed.filled_size
    assert found.average_price == placed.average_price
    assert found.fees == placed.fees
    assert order_total(found) == order_total(placed)
    assert paper.get_order_by_client_id("nope") is None


def test_get_order_by_client_id_reports_a_rejection_with_its_reason(paper, btc):
    with pytest.raises(OrderRejected):
        paper.place_market_order(client_order_id="tiny", product=btc, side=Side.BUY, quote_size=Decimal("0.50"))

    found = paper.get_order_by_client_id("tiny")

    assert found.status is OrderStatus.REJECTED
    assert found.reject_reason == "BELOW_MIN_SIZE"
    assert found.fills == ()
    assert found.filled_size == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_orders_keep_wallet_equal_to_deposits_less_buys_plus_sells(paper, source, clock, seed):
    rng = random.Random(seed)
    products = [source.product(pid) for pid in ("BTC-USD", "ETH-USD", "DOGE-USD")]
    buys, sells, rejected = Decimal("0"), Decimal("0"), 0
    held = {p.base_currency: Decimal("0") for p in products}
    for n in range(40):
        clock.advance(timedelta(seconds=rng.choice([0, 3, 10, 60, 600])))
        product = rng.choice(products)
        cid = f"{seed}-{n}"
        try:
            if rng.random() < 0.55:
                quote = Decimal(rng.randint(50, 40_000)) / 100  # 0.50 to 400.00, some beyond the wallet
                order = paper.place_market_order(client_order_id=cid, product=product, side=Side.BUY, quote_size=quote)
                buys += order_total(order)
                held[product.base_currency] += order.filled_size
            else:
                have = balance(paper, product.base_currency)
                size = product.round_base(have * Decimal(rng.choice(["0.25", "0.5", "1", "1.5"])))
                order = paper.place_market_order(client_order_id=cid, product=product, side=Side.SELL, base_size=size)
                sells += order_total(order)
                held[product.base_currency] -= order.filled_size
        except OrderRejected as exc:
            assert PaperOrder.objects.get(client_order_id=cid).reject_reason == exc.reason
            rejected += 1

        wallet = paper.balances()
        assert all(b.available >= 0 for b in wallet.values())
        assert balance(paper, "USD") == START_USD - buys + sells
        for currency, amount in held.items():
            assert balance(paper, currency) == amount
    assert buys > 0
    assert sells > 0
    assert rejected > 0


def test_balances_and_orders_survive_a_restart(source, sim, btc):
    paper_deposit("USD", START_USD)
    first = PaperExchange(source, fee_rate=FEE, slippage_rate=SLIP)
    order = first.place_market_order(client_order_id="r1", product=btc, side=Side.BUY, quote_size=Decimal("200"))
    before = first.balances()

    restarted = PaperExchange(CachedMarketData(sim), fee_rate=FEE, slippage_rate=SLIP)

    assert restarted.balances() == before
    assert restarted.balances()["USD"].available == START_USD - order_total(order)
    assert restarted.balances()["BTC"].available == order.filled_size
    assert restarted.get_order_by_client_id("r1").order_id == order.order_id
    again = restarted.place_market_order(client_order_id="r1", product=btc, side=Side.BUY, quote_size=Decimal("200"))
    assert again.order_id == order.order_id
    assert restarted.balances() == before


def test_deposit_must_be_positive_and_adds_to_the_wallet():
    with pytest.raises(ValueError, match="positive"):
        paper_deposit("USD", Decimal("0"))
    paper_deposit("USD", Decimal("10.5"))
    paper_deposit("USD", Decimal("0.25"))
    assert PaperBalance.objects.get(currency="USD").available == Decimal("10.75")
