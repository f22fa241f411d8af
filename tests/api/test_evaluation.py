"""Evaluation over the API: now on live data, on a sample without side effects, temperatures."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots.models import ActivityEvent, Bot
from trading.models import Order


def test_evaluate_now_gives_the_full_breakdown_and_never_trades(api, make_bot, market, wallet):
    bot = make_bot(
        name="Real signals",
        signal_config={
            "rsi": {"weight": 0.4},
            "moving_average": {"weight": 0.3, "fast_period": 10, "slow_period": 20},
            "macd": {"weight": 0.3},
        },
    )
    response = api.post(f"/api/v1/bot-evaluation/{bot.pk}/evaluate")
    assert response.status_code == 200, response.json()
    body = response.json()
    ev = body["evaluation"]
    assert body["bot_id"] == bot.pk
    assert isinstance(body["price"], str)
    assert ev["time"] == "2026-01-11T00:00:00Z"
    assert {s["name"] for s in ev["signals"]} == {"rsi", "moving_average", "macd"}
    indicators = {k for s in ev["signals"] for k in s["indicators"]}
    assert {"rsi", "macd", "macd_signal", "macd_histogram"} <= indicators
    assert ev["temperature"] in {"FROZEN", "COOL", "WARM", "HOT"}
    assert ev["confirmation"]["action"] == ev["action"]
    bot.refresh_from_db()
    assert bot.last_evaluated_at is not None  # stored, as the admin's "evaluate now"
    assert not Order.objects.exists()


def test_evaluate_now_of_an_unknown_bot(api):
    assert api.post("/api/v1/bot-evaluation/999/evaluate").status_code == 404


def test_sample_evaluation_writes_nothing_anywhere(api, traded_bot, market):
    before = Bot.objects.values().get(pk=traded_bot.pk)
    events = ActivityEvent.objects.count()
    stats = market.stats()
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/bot-evaluation/test/{traded_bot.pk}")
    assert response.status_code == 200, response.json()
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert Bot.objects.values().get(pk=traded_bot.pk) == before
    assert ActivityEvent.objects.count() == events
    assert {k: v for k, v in market.stats().items() if k != "hit_rate"} == {
        k: v for k, v in stats.items() if k != "hit_rate"
    }

    body = response.json()
    assert body["sample"]["product_id"] == "BTC-USD"
    assert body["sample"]["candles"] >= 100
    assert body["evaluation"]["score"] == 1.0  # the fixed test signal
    assert body["evaluation"]["action"] == "buy"
    # The same settings always score the same sample.
    assert api.get(f"/api/v1/bot-evaluation/test/{traded_bot.pk}").json() == body


def test_sample_of_a_pair_the_simulated_market_lacks_uses_btc(api, traded_bot):
    Bot.objects.filter(pk=traded_bot.pk).update(product_id="PEPE-USD")
    assert api.get(f"/api/v1/bot-evaluation/test/{traded_bot.pk}").json()["sample"]["product_id"] == "BTC-USD"


def test_stored_settings_that_no_longer_validate_are_a_409(api, traded_bot):
    Bot.objects.filter(pk=traded_bot.pk).update(signal_config={"vibes": {"weight": 0.5}})
    for response in (
        api.get(f"/api/v1/bot-evaluation/test/{traded_bot.pk}"),
        api.post(f"/api/v1/bot-evaluation/{traded_bot.pk}/evaluate"),
    ):
        assert response.status_code == 409
        assert "signal_config.vibes" in response.json()["extra"]["fields"]


def test_settings_beyond_the_clock_are_a_409_not_a_500(api, traded_bot):
    """Settings written around validation (straight into the database) are refused, never a 500."""
    Bot.objects.filter(pk=traded_bot.pk).update(signal_config={"rsi": {"weight": 0.5, "period": 10**12}})
    response = api.post(f"/api/v1/bot-evaluation/{traded_bot.pk}/evaluate")
    assert response.status_code == 409
    assert "period" in str(response.json())
    assert api.get(f"/api/v1/bot-evaluation/test/{traded_bot.pk}").status_code == 409

    Bot.objects.filter(pk=traded_bot.pk).update(confirmation_minutes=1e300)
    assert api.get(f"/api/v1/bots/{traded_bot.pk}/confirmation-status").status_code == 409
    assert api.get(f"/api/v1/bot-evaluation/test/{traded_bot.pk}").status_code == 409


def test_temperatures(api, traded_bot, make_bot):
    cold = make_bot(name="Cold", score=0.0)
    api.post(f"/api/v1/bot-evaluation/{cold.pk}/evaluate")
    never = make_bot(name="Never")

    listing = api.get("/api/v1/bot-temperatures/").json()
    assert [(t["name"], t["temperature"]) for t in listing["results"]] == [
        ("Cold", "FROZEN"),
        ("Never", None),
        ("Trader", "HOT"),
    ]
    hot = listing["results"][2]
    assert hot["emoji"] == "🔥" and hot["score"] == 1.0 and hot["action"] == "buy"

    dashboard = api.get("/api/v1/bot-temperatures/dashboard").json()
    assert dashboard["counts"] == {"FROZEN": 1, "COOL": 0, "WARM": 0, "HOT": 1, "NONE": 1}
    assert dashboard["average_score"] == 0.5
    assert [b["name"] for b in dashboard["bots"]] == ["Trader", "Cold", "Never"]

    detail = api.get(f"/api/v1/bot-temperatures/{traded_bot.pk}").json()
    assert detail["evaluation"]["signals"][0]["name"] == "fixed"
    assert api.get(f"/api/v1/bot-temperatures/{never.pk}").json()["evaluation"] is None
    assert api.get("/api/v1/bot-temperatures/999").status_code == 404
    assert api.get("/api/v1/bot-temperatures/?status=running&limit=1").json()["count"] == 3


def test_a_pair_the_market_no_longer_lists_is_a_409(api, traded_bot):
    Bot.objects.filter(pk=traded_bot.pk).update(product_id="PEPE-USD")
    response = api.post(f"/api/v1/bot-evaluation/{traded_bot.pk}/evaluate")
    assert response.status_code == 409
    assert "PEPE-USD is not listed" in response.json()["message"]


def test_a_stored_evaluation_of_another_shape_shows_as_absent(api, traded_bot):
    Bot.objects.filter(pk=traded_bot.pk).update(last_evaluation={"score": 0.5})
    assert api.get(f"/api/v1/bot-temperatures/{traded_bot.pk}").json()["evaluation"] is None
