"""Fills, orders, positions, activity, the kill switch, portfolio and health over the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bots.models import ActivityEvent
from bots.services import activity_record
from market.models import Heartbeat
from tests.api.conftest import tick
from tests.conftest import set_score
from trading.models import KillSwitch, Order, Trade


@pytest.fixture
def two_bots_traded(traded_bot, make_bot, market, wallet, clock):
    """Trader bought BTC and later sold; Ether bought ETH an hour later."""
    clock.advance(timedelta(minutes=30))
    set_score(traded_bot, -1.0)
    tick(traded_bot, market, wallet)
    clock.advance(timedelta(minutes=30))
    ether = make_bot(score=1.0, name="Ether", product_id="ETH-USD")
    tick(ether, market, wallet)
    assert Trade.objects.count() == 3
    return traded_bot, ether


def test_trades_newest_first_with_money_as_strings(api, two_bots_traded):
    page = api.get("/api/v1/trades").json()
    assert page["count"] == 3
    newest = page["results"][0]
    assert (newest["bot_name"], newest["product_id"], newest["side"]) == ("Ether", "ETH-USD", "BUY")
    trade = Trade.objects.get(pk=newest["id"])
    assert newest["price"] == format(trade.price.normalize(), "f")
    assert Decimal(newest["quote_value"]) == trade.quote_value
    assert newest["executed_at"].endswith("Z")
    sell = page["results"][1]
    assert sell["side"] == "SELL" and Decimal(sell["realised_pnl"]) != 0


def test_trade_filters(api, two_bots_traded):
    trader, _ = two_bots_traded

    def names(query: str) -> list[tuple[str, str]]:
        return [(t["bot_name"], t["side"]) for t in api.get(f"/api/v1/trades?{query}").json()["results"]]

    assert names(f"bot={trader.pk}") == [("Trader", "SELL"), ("Trader", "BUY")]
    assert names("product_id=eth-usd") == [("Ether", "BUY")]
    assert names("side=sell") == [("Trader", "SELL")]
    assert names("side=BUY&product_id=BTC-USD") == [("Trader", "BUY")]
    assert names("start=2026-01-11T00:30:00Z") == [("Ether", "BUY"), ("Trader", "SELL")]
    assert names("end=2026-01-11T00:30:00Z") == [("Trader", "BUY")]
    assert names("start=2026-01-11T00:30:00Z&end=2026-01-11T01:00:00Z") == [("Trader", "SELL")]
    assert names("bot=999") == []


def test_trade_pagination(api, two_bots_traded):
    first = api.get("/api/v1/trades?limit=2").json()
    assert len(first["results"]) == 2 and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    ids = [t["id"] for t in first["results"] + second["results"]]
    assert len(set(ids)) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("side=HOLD", "side"),
        ("bot=0", "bot"),
        (f"bot={2**63}", "bot"),
        ("bot=x", "bot"),
        ("start=soon", "start"),
        ("start=2026-01-11T00:00:00Z&end=2026-01-10T00:00:00Z", "end"),
        ("offset=x", "offset"),
        ("limit=100000", "limit"),
    ],
)
def test_bad_trade_filters_are_a_400(api, query, field):
    response = api.get(f"/api/v1/trades?{query}")
    assert response.status_code == 400
    assert field in response.json()["extra"]["fields"]


def test_orders_show_state_and_rejection_reason(api, traded_bot, rejected_order):
    page = api.get("/api/v1/orders").json()
    assert page["count"] == 2
    rejected = api.get("/api/v1/orders?status=REJECTED").json()["results"]
    assert [(o["reject_reason"], o["reject_message"]) for o in rejected] == [("INSUFFICIENT_FUND", "not enough USD")]
    filled = api.get(f"/api/v1/orders?status=FILLED&bot={traded_bot.pk}&side=buy").json()["results"][0]
    assert filled["mode"] == "paper"
    assert filled["quote_size"] == "100"
    assert filled["base_size"] is None
    assert Decimal(filled["filled_size"]) > 0 and filled["score"] == 1.0

    detail = api.get(f"/api/v1/orders/{rejected_order.pk}").json()
    assert detail["status"] == "REJECTED" and detail["client_order_id"] == "at-rejected"
    assert api.get("/api/v1/orders/999").json() == {"message": "No order with id 999.", "extra": {}}
    assert api.get("/api/v1/orders?status=WHATEVER").status_code == 400


def test_positions_with_tranches_marked_at_the_last_price(api, traded_bot, make_bot):
    make_bot(name="Flat")  # never traded: no position row
    page = api.get("/api/v1/positions").json()
    assert page["count"] == 1
    position = page["results"][0]
    assert position["bot_name"] == "Trader"
    size, mark = Decimal(position["base_size"]), Decimal(position["mark_price"])
    assert mark == traded_bot.last_price
    assert Decimal(position["value"]) == size * mark
    assert Decimal(position["unrealised_pnl"]) == size * mark - Decimal(position["cost_basis"])
    assert len(position["tranches"]) == 1
    assert position["tranches"][0]["size"] == position["base_size"]
    assert api.get("/api/v1/positions?open=true&product_id=ETH-USD").json()["count"] == 0
    assert api.get(f"/api/v1/positions?bot={traded_bot.pk}&open=true").json()["count"] == 1


def test_activity_filters(api, traded_bot, market):
    activity_record(kind="error", level="error", message="boom", at=market.now())
    everything = api.get("/api/v1/activity").json()
    assert everything["count"] == ActivityEvent.objects.count()
    assert everything["results"][0]["message"] == "boom" and everything["results"][0]["bot_id"] is None

    kinds = {e["kind"] for e in api.get(f"/api/v1/activity?bot={traded_bot.pk}").json()["results"]}
    assert {"state", "decision", "order", "fill"} <= kinds
    fills = api.get(f"/api/v1/activity?bot={traded_bot.pk}&kind=fill").json()["results"]
    assert len(fills) == 1 and fills[0]["data"]["side"] == "BUY"
    assert [e["message"] for e in api.get("/api/v1/activity?level=error").json()["results"]] == ["boom"]
    assert api.get("/api/v1/activity?end=2026-01-01T00:00:00Z").json()["count"] == 0
    assert api.get("/api/v1/activity?kind=gossip").status_code == 400


def test_kill_switch(api, traded_bot, market, wallet):
    assert api.get("/api/v1/kill-switch").json()["engaged"] is False
    response = api.post("/api/v1/kill-switch", {"engaged": True, "reason": "exchange outage"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "engaged": True,
        "reason": "exchange outage",
        "changed_by": "trader (API)",
        "changed_at": "2026-01-11T00:00:00Z",
    }
    assert KillSwitch.objects.get(pk=1).engaged
    # And it works: the next decision places no order.
    orders = Order.objects.count()
    tick(traded_bot, market, wallet)
    assert Order.objects.count() == orders

    assert api.post("/api/v1/kill-switch", {"engaged": False}, format="json").json()["engaged"] is False
    bad = api.post("/api/v1/kill-switch", {"engaged": "maybe", "reason": "x" * 501}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["extra"]["fields"]) == {"engaged", "reason"}


def test_portfolio(api, traded_bot):
    body = api.get("/api/v1/portfolio").json()
    assert body["mode"] == "paper" and body["quote_currency"] == "USD"
    cash, value, equity = (Decimal(body[k]) for k in ("cash", "positions_value", "equity"))
    assert equity == cash + value
    assert 990 < equity < 1000  # 1,000 less fees and spread


def test_system_health(api, traded_bot, market):
    Heartbeat.objects.create(name="ticker@host:1", role="ticker", host="host", pid=1, beat_at=timezone.now())
    activity_record(kind="error", level="error", message="order rejected: boom", at=market.now())
    body = api.get("/api/v1/system/health").json()
    assert body["mode"] == "paper" and body["market_data"] == "simulated"
    assert body["market_time"] == "2026-01-11T00:00:00Z"
    assert [(p["role"], p["alive"]) for p in body["processes"]] == [("ticker", True)]
    assert body["kill_switch"]["engaged"] is False
    assert body["unresolved_orders"] == 0
    assert [e["message"] for e in body["recent_errors"]] == ["order rejected: boom"]
    assert body["stream"]["enabled"] is True
    assert set(body["task_queue"]) == {
        "broker",
        "broker_error",
        "state",
        "stuck",
        "clusters",
        "queued",
        "oldest_queued_at",
        "last_taken_at",
        "last_success_at",
        "failures",
    }
    assert body["redis"] == "ok" and body["task_queue"]["broker_error"] == ""
    assert body["task_queue"]["state"] == "ok" and body["task_queue"]["stuck"] == ""


JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmdhbml6YXRpb25zL3gifQ.c2lnbmF0dXJlLWJ5dGVz"
PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yBx\n-----END EC PRIVATE KEY-----"


def test_no_secret_appears_in_any_response(api, traded_bot, rejected_order, market):
    """Text that may quote an exchange or a traceback is scrubbed on the way out too."""
    secret_text = f"401 Unauthorized: Bearer {JWT} key {PEM}"
    ActivityEvent.objects.create(
        kind="error", level="error", message=secret_text, data={"raw": secret_text}, at=market.now()
    )
    Order.objects.filter(pk=rejected_order.pk).update(reject_message=secret_text[:500])
    Heartbeat.objects.create(
        name="stream@host:2",
        role="stream",
        host="host",
        pid=2,
        beat_at=timezone.now(),
        info={"last_error": secret_text},
    )
    urls = [
        "/api/v1/activity",
        "/api/v1/orders",
        f"/api/v1/orders/{rejected_order.pk}",
        "/api/v1/system/health",
        "/api/v1/ws/websocket/status",
    ]
    for url in urls:
        text = api.get(url).content.decode()
        assert "[REDACTED]" in text, url
        for secret in (JWT, "MHcCAQEEIBkg4LVWM9nuwNSk3yBx", "BEGIN EC PRIVATE KEY"):
            assert secret not in text, url


def test_backtest_runs(api, backtest_run, make_bot):
    page = api.get("/api/v1/backtests").json()
    assert page["count"] == 1
    run = page["results"][0]
    assert run["name"] == "Trader" and run["starting_balance"] == "1000" and run["fee_rate"] == "0.006"
    assert run["sharpe"] is None  # NaN is not JSON: null
    detail = api.get(f"/api/v1/backtests/{backtest_run.pk}").json()
    assert detail["metrics"] == {"total_return": 0.0, "sharpe": None, "win_rate": None}
    assert detail["config"]["signal_config"]["fixed"]["weight"] == 1.0
    other = make_bot(name="Other")
    assert api.get(f"/api/v1/backtests?bot={other.pk}").json()["count"] == 0
    assert api.get("/api/v1/backtests?product_id=btc-usd").json()["count"] == 1
    assert api.get("/api/v1/backtests/999").json() == {"message": "No backtest run with id 999.", "extra": {}}
