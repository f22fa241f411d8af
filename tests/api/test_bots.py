"""Bots over the API: CRUD with the admin's validation, start/stop, confirmation status."""

from __future__ import annotations

import pytest

from bots.models import ActivityEvent, Bot

NEW_BOT = {
    "name": "SOL Swing",
    "product_id": "sol-usd",
    "granularity": "15m",
    "signal_config": {
        "rsi": {"enabled": True, "weight": 0.5, "period": 14},
        "moving_average": {"enabled": True, "weight": 0.5, "fast_period": 9, "slow_period": 21},
    },
    "position_size_usd": "50",
    "max_position_usd": "200.50",
}


def fields_of(response) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"message", "extra"}
    return body["extra"]["fields"]


def test_create_returns_the_bot_stopped_with_money_as_strings(api):
    response = api.post("/api/v1/bots/", NEW_BOT, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["product_id"] == "SOL-USD"  # normalised as the admin does
    assert body["status"] == "stopped"
    assert body["mode"] == "paper"
    assert body["position_size_usd"] == "50"
    assert body["max_position_usd"] == "200.5"
    assert body["daily_loss_limit_usd"] == "50"  # the model's default
    assert body["signal_config"]["moving_average"]["slow_period"] == 21
    assert body["created_at"].endswith("Z")
    assert Bot.objects.get(pk=body["id"]).granularity == "15m"


def test_create_without_settings_takes_the_defaults(api):
    response = api.post("/api/v1/bots/", {"name": "Plain", "product_id": "BTC-USD"}, format="json")
    assert response.status_code == 201
    assert set(response.json()["signal_config"]) == {"rsi", "moving_average", "macd"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"signal_config": {"rsi": {"weight": 0.7}, "macd": {"weight": 0.6}}},
            "signal_config.weight",
            "enabled signal weights total 1.3, more than 1.0",
        ),
        ({"signal_config": {"rsi": {"weight": 1.5}}}, "signal_config.rsi.weight", "must be at most 1"),
        ({"signal_config": {"vibes": {"weight": 0.1}}}, "signal_config.vibes", "unknown signal 'vibes'"),
        (
            {"signal_config": {"moving_average": {"weight": 0.3, "fast_period": 30, "slow_period": 20}}},
            "signal_config.moving_average.fast_period",
            "must be less than slow_period (20)",
        ),
        (
            {"signal_config": {"macd": {"weight": 0.3, "fast_period": 26, "slow_period": 26}}},
            "signal_config.macd.fast_period",
            "must be less than slow_period (26)",
        ),
        ({"signal_config": {"rsi": {"weight": 0.3, "period": 10**400}}}, "signal_config.rsi.period", "too large"),
        ({"signal_config": ["rsi"]}, "signal_config", "must be an object"),
        ({"position_size_usd": "-5"}, "position_size_usd", "must not be negative"),
        ({"position_size_usd": "0"}, "position_size_usd", "must be more than 0"),
        ({"max_position_usd": "10"}, "max_position_usd", "must be at least the position size"),
        ({"buy_threshold": 1.5}, "buy_threshold", "must be above 0 and at most 1"),
        ({"sell_threshold": 0.2}, "sell_threshold", "must be below 0 and at least -1"),
        ({"confirmation_minutes": -1}, "confirmation_minutes", "must not be negative"),
        ({"product_id": "DOGE-EUR"}, "product_id", "unknown trading pair 'DOGE-EUR'"),
        ({"granularity": "7m"}, "granularity", "is not a valid choice"),
        ({"position_size_usd": "1e30"}, "position_size_usd", "no more than 20 digits"),
        ({"max_trades_per_day": 2**40}, "max_trades_per_day", "less than or equal to 2147483647"),
        ({"name": ""}, "name", "may not be blank"),
        ({"name": "x\x00y"}, "name", "Null characters are not allowed"),
    ],
)
def test_create_refuses_bad_settings_naming_the_field(api, change, field, message):
    response = api.post("/api/v1/bots/", {**NEW_BOT, **change}, format="json")
    assert response.status_code == 400
    fields = fields_of(response)
    assert field in fields, fields
    assert message in fields[field][0]
    assert message in response.json()["message"]
    assert not Bot.objects.exists()


def test_validation_is_the_admins(api, traded_bot):
    """The same model validation: a duplicate name is refused by the model's unique check."""
    response = api.post("/api/v1/bots/", {"name": traded_bot.name, "product_id": "BTC-USD"}, format="json")
    assert response.status_code == 400
    assert fields_of(response) == {"name": ["Bot with this Name already exists."]}


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "x", "product_id": ',
        '{"name": "\\ud800", "product_id": "BTC-USD"}',
        '{"name": "x", "product_id": "BTC-USD", "signal_config": {"rsi": {"\\udfff": 1}}}',
        '{"name": "x", "signal_config": ' + "[" * 40 + "]" * 40 + "}",
        '{"name": "x", "signal_config": ' + "[" * 5000 + "]" * 5000 + "}",
    ],
)
def test_unparseable_json_is_a_400(api, body):
    response = api.post("/api/v1/bots/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error")


def test_a_body_over_djangos_limit_is_a_400_in_the_error_shape(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/bots/", {"name": "x" * 2000, "product_id": "BTC-USD"}, format="json")
    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["message"]


def test_form_data_is_not_accepted(api):
    response = api.post("/api/v1/bots/", {"name": "x", "product_id": "BTC-USD"})  # multipart
    assert response.status_code == 415
    assert set(response.json()) == {"message", "extra"}


def test_list_is_paginated_and_filtered(api, make_bot):
    for i in range(5):
        make_bot(name=f"bot {i}", product_id="ETH-USD" if i % 2 else "BTC-USD")
    Bot.objects.filter(name="bot 4").update(status=Bot.Status.STOPPED)

    page = api.get("/api/v1/bots/?limit=2&offset=1").json()
    assert page["count"] == 5
    assert [b["name"] for b in page["results"]] == ["bot 1", "bot 2"]
    assert "offset=3" in page["next"] and "offset=" not in (page["previous"] or "offset=")

    assert api.get("/api/v1/bots/?product_id=eth-usd").json()["count"] == 2
    assert [b["name"] for b in api.get("/api/v1/bots/?status=stopped").json()["results"]] == ["bot 4"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("status=on", "status"),
    ],
)
def test_bad_paging_or_filters_are_a_400(api, query, field):
    response = api.get(f"/api/v1/bots/?{query}")
    assert response.status_code == 400
    assert field in fields_of(response)


def test_get_one(api, traded_bot):
    body = api.get(f"/api/v1/bots/{traded_bot.pk}").json()
    assert body["name"] == "Trader"
    assert body["last_price"] == str(traded_bot.last_price.normalize())
    assert body["last_temperature"] == "HOT"


@pytest.mark.parametrize("bot_id", ["999", "0", str(2**63), str(10**30)])
def test_an_unknown_id_is_a_404(api, traded_bot, bot_id):
    for method in ("get", "put", "patch", "delete"):
        response = getattr(api, method)(f"/api/v1/bots/{bot_id}", {}, format="json")
        assert response.status_code == 404
        assert response.json() == {"message": f"No bot with id {bot_id}.", "extra": {}}


@pytest.mark.parametrize(
    "url", ["/api/v1/bots/-1", "/api/v1/bots/abc", "/api/v1/bots/1/nope", "/api/v1/nothing", "/api/v1/bots"]
)
def test_an_unknown_path_is_a_json_404(api, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response.json() == {"message": f"No API endpoint at {url}", "extra": {}}


def test_patch_changes_only_what_it_names_and_validates_the_result(api, traded_bot):
    url = f"/api/v1/bots/{traded_bot.pk}"
    response = api.patch(url, {"position_size_usd": "25.5"}, format="json")
    assert response.status_code == 200
    assert response.json()["position_size_usd"] == "25.5"
    assert response.json()["name"] == "Trader"

    # Valid alone, invalid with the bot's current position size (100 > 60 is checked as a whole).
    response = api.patch(url, {"max_position_usd": "10"}, format="json")
    assert response.status_code == 400
    assert fields_of(response) == {"max_position_usd": ["must be at least the position size"]}


def test_put_replaces_the_settings(api, traded_bot):
    response = api.put(f"/api/v1/bots/{traded_bot.pk}", {"name": "Renamed", "product_id": "BTC-USD"}, format="json")
    assert response.status_code == 200, response.json()
    traded_bot.refresh_from_db()
    assert (traded_bot.name, traded_bot.product_id) == ("Renamed", "BTC-USD")
    assert set(traded_bot.signal_config) == {"rsi", "moving_average", "macd"}  # back to the default


def test_pair_cannot_change_under_a_position(api, traded_bot):
    response = api.put(f"/api/v1/bots/{traded_bot.pk}", {"name": "Moved", "product_id": "ETH-USD"}, format="json")
    assert response.status_code == 400
    assert "sell it before changing the pair" in fields_of(response)["product_id"][0]


def test_put_needs_the_required_fields(api, traded_bot):
    response = api.put(f"/api/v1/bots/{traded_bot.pk}", {"name": "Only a name"}, format="json")
    assert response.status_code == 400
    assert fields_of(response) == {"product_id": ["This field is required."]}


def test_delete_a_bot_without_orders(api, make_bot):
    bot = make_bot(name="Short-lived")
    assert api.delete(f"/api/v1/bots/{bot.pk}").status_code == 204
    assert not Bot.objects.filter(pk=bot.pk).exists()
    assert ActivityEvent.objects.filter(message="Short-lived deleted").exists()


def test_a_bot_with_orders_is_not_deleted(api, traded_bot):
    response = api.delete(f"/api/v1/bots/{traded_bot.pk}")
    assert response.status_code == 409
    assert "stop it instead" in response.json()["message"]
    assert Bot.objects.filter(pk=traded_bot.pk).exists()


def test_start_and_stop(api, traded_bot):
    response = api.post(f"/api/v1/bots/{traded_bot.pk}/stop")
    assert response.status_code == 200
    assert response.json()["status"] == "stopped"
    response = api.post(f"/api/v1/bots/{traded_bot.pk}/start")
    assert response.json()["status"] == "running"
    assert api.post("/api/v1/bots/999/start").status_code == 404
    assert api.post("/api/v1/bots/999/stop").status_code == 404


def test_confirmation_status_counts_down_at_market_time(api, make_bot, market, wallet, clock):
    from datetime import timedelta

    from tests.api.conftest import tick

    bot = make_bot(score=1.0, confirmation_minutes=10)
    tick(bot, market, wallet)
    clock.advance(timedelta(minutes=4))
    body = api.get(f"/api/v1/bots/{bot.pk}/confirmation-status").json()
    assert body["action"] == "buy"
    assert body["required_seconds"] == 600
    assert body["elapsed_seconds"] == 240
    assert body["remaining_seconds"] == 360
    assert body["progress"] == pytest.approx(0.4)
    assert body["confirmed"] is False
    assert body["stuck_reason"] is None
    assert body["now"].endswith("Z")

    api.post(f"/api/v1/bots/{bot.pk}/stop")
    body = api.get(f"/api/v1/bots/{bot.pk}/confirmation-status").json()
    assert body["action"] == "buy"  # a stop leaves the pending action: it is stuck now
    assert body["stuck_reason"] == "pending buy but the bot is stopped"


def test_confirmation_status_of_an_unknown_bot(api):
    assert api.get("/api/v1/bots/999/confirmation-status").status_code == 404
