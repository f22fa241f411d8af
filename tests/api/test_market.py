"""Market data over the API: through the cached market, prices as Decimal strings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from market.models import PaperBalance, StreamControl


def test_products(api):
    page = api.get("/api/v1/market/products").json()
    assert page["count"] == 9
    btc = next(p for p in page["results"] if p["product_id"] == "BTC-USD")
    assert btc["base_increment"] == "0.00000001"
    assert btc["quote_min_size"] == "1"
    assert btc["market_orders_allowed"] is True
    assert len(api.get("/api/v1/market/products?limit=4&offset=8").json()["results"]) == 1


def test_ticker(api, market):
    body = api.get("/api/v1/market/ticker/btc-usd").json()
    ticker = market.ticker("BTC-USD")
    assert body["product_id"] == "BTC-USD"
    assert Decimal(body["bid"]) == ticker.bid and Decimal(body["ask"]) == ticker.ask
    assert Decimal(body["bid"]) < Decimal(body["mid"]) < Decimal(body["ask"])
    assert body["time"] == "2026-01-11T00:00:00Z"
    assert body["stale"] is False


@pytest.mark.parametrize("pair", ["DOGE-EUR", "nonsense", "A" * 100])
def test_an_unknown_pair_is_a_404_that_costs_no_upstream_call(api, market, pair):
    market.products()  # warm the product list
    calls = market.stats()["upstream_calls"]
    for url in (f"/api/v1/market/ticker/{pair}", f"/api/v1/market/candles/{pair}"):
        response = api.get(url)
        assert response.status_code == 404
        assert "No trading pair" in response.json()["message"]
    assert market.stats()["upstream_calls"] == calls


def test_candles_default_to_the_newest_closed_ones(api):
    body = api.get("/api/v1/market/candles/ETH-USD?limit=3").json()
    assert body["granularity"] == "5m"
    times = [c["time"] for c in body["candles"]]
    assert times == ["2026-01-10T23:45:00Z", "2026-01-10T23:50:00Z", "2026-01-10T23:55:00Z"]
    candle = body["candles"][-1]
    assert Decimal(candle["low"]) <= Decimal(candle["close"]) <= Decimal(candle["high"])
    assert Decimal(candle["close"]).as_tuple().exponent >= -2  # quantized to the price increment


def test_candles_in_a_window(api):
    url = "/api/v1/market/candles/BTC-USD?granularity=1h&start=2026-01-10T00:00:00Z&end=2026-01-10T06:00:00Z"
    times = [c["time"] for c in api.get(url).json()["candles"]]
    assert times == [f"2026-01-10T0{h}:00:00Z" for h in range(6)]
    # limit keeps the newest
    times = [c["time"] for c in api.get(url + "&limit=2").json()["candles"]]
    assert times == ["2026-01-10T04:00:00Z", "2026-01-10T05:00:00Z"]


def test_candles_from_the_dawn_of_time_read_only_what_the_limit_needs(api, market):
    response = api.get("/api/v1/market/candles/BTC-USD?start=0001-01-01T00:00:00Z&end=9999-12-31T00:00:00Z&limit=5")
    assert response.status_code == 200
    assert len(response.json()["candles"]) == 5
    assert api.get("/api/v1/market/candles/BTC-USD?end=0001-01-01T00:10:00Z").json()["candles"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("granularity=7m", "granularity"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("start=yesterday", "start"),
        ("start=2026-01-10T00:00:00Z&end=2026-01-09T00:00:00Z", "end"),
    ],
)
def test_bad_candle_queries_are_a_400(api, query, field):
    response = api.get(f"/api/v1/market/candles/BTC-USD?{query}")
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


def test_accounts_are_the_paper_wallet(api, traded_bot):
    body = api.get("/api/v1/market/accounts").json()
    assert body["mode"] == "paper"
    balances = {b["currency"]: b for b in body["balances"]}
    assert set(balances) == {"USD", "BTC"}
    for currency, balance in balances.items():
        assert Decimal(balance["available"]) == PaperBalance.objects.get(currency=currency).available
    assert 899 < Decimal(balances["USD"]["available"]) < 901  # 1,000 less the 100 USD buy


def test_cache_stats(api):
    api.get("/api/v1/market/ticker/BTC-USD")
    body = api.get("/api/v1/market/cache-stats").json()
    assert body["source"] == "simulated"
    assert body["upstream_calls"] >= 1
    assert 0 <= body["hit_rate"] <= 1
    assert "rate_limited" in body and "backing_off" in body


def test_the_stream_switch(api):
    assert api.get("/api/v1/ws/websocket/status").json()["enabled"] is True
    response = api.post("/api/v1/ws/websocket/stop")
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert StreamControl.objects.get(pk=1).enabled is False
    assert api.post("/api/v1/ws/websocket/start").json()["enabled"] is True
    status = api.get("/api/v1/ws/websocket/status").json()
    assert status["process_alive"] is False and status["connected"] is False
