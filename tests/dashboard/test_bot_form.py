"""The bot form: every setting, the model's validation, errors next to the field."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bots.config import DEFAULT_SIGNAL_CONFIG
from bots.models import Bot

pytestmark = pytest.mark.django_db


def _valid(**overrides) -> dict:
    data = {
        "name": "SOL Swing",
        "product_id": "SOL-USD",
        "granularity": "15m",
        "buy_threshold": "0.3",
        "sell_threshold": "-0.3",
        "confirmation_minutes": "5",
        "position_size_usd": "100",
        "max_position_usd": "300",
        "trade_step_pct": "1",
        "cooldown_minutes": "10",
        "max_trades_per_day": "12",
        "daily_loss_limit_usd": "40",
        "rsi__enabled": "on",
        "rsi__weight": "0.5",
        "rsi__period": "14",
        "rsi__buy_threshold": "30",
        "rsi__sell_threshold": "70",
        "moving_average__enabled": "on",
        "moving_average__weight": "0.5",
        "moving_average__fast_period": "10",
        "moving_average__slow_period": "30",
        "moving_average__ma_type": "ema",
        "moving_average__full_scale_pct": "1",
        "moving_average__crossover_lookback": "3",
        "moving_average__crossover_boost": "0.25",
        "macd__weight": "0.3",
        "macd__fast_period": "12",
        "macd__slow_period": "26",
        "macd__signal_period": "9",
        "macd__full_scale_pct": "0.1",
        "macd__crossover_lookback": "3",
        "macd__crossover_boost": "0.25",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _error_of(html: str, field: str) -> str:
    """The error list rendered inside the named field's block."""
    block = re.search(rf'data-field="{field}">(.*?)</div>', html, re.DOTALL)
    assert block, f"no field {field}"
    errors = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', block.group(1), re.DOTALL)
    return re.sub(r"<[^>]+>", " ", errors.group(1)).strip() if errors else ""


def test_a_valid_form_creates_a_stopped_bot_with_the_assembled_signal_config(client, market):
    response = client.post(reverse("dashboard:bot_new"), _valid())
    bot = Bot.objects.get(name="SOL Swing")
    assert response["Location"] == reverse("dashboard:bot_detail", args=[bot.pk])
    assert bot.status == "stopped" and bot.granularity == "15m" and bot.cooldown_minutes == 10
    assert bot.signal_config["moving_average"] == {
        "enabled": True,
        "weight": 0.5,
        "fast_period": 10,
        "slow_period": 30,
        "ma_type": "ema",
        "full_scale_pct": 1.0,
        "crossover_lookback": 3,
        "crossover_boost": 0.25,
    }
    assert bot.signal_config["macd"]["enabled"] is False  # unticked: kept, but off
    assert bot.config.signals  # the model accepts what the form assembled


def test_the_weights_total_is_refused_with_the_models_message_by_the_total(client, market):
    response = client.post(reverse("dashboard:bot_new"), _valid(rsi__weight="0.7"))
    assert response.status_code == 400
    html = response.content.decode()
    total = html.split('id="weight-total"')[1]
    assert "enabled signal weights total 1.2, more than 1.0" in total.split("</section>")[0]
    assert not Bot.objects.filter(name="SOL Swing").exists()


def test_a_bad_signal_parameter_is_reported_next_to_its_field(client, market):
    html = client.post(reverse("dashboard:bot_new"), _valid(rsi__period="1")).content.decode()
    assert _error_of(html, "rsi__period") == "must be at least 2"
    html = client.post(
        reverse("dashboard:bot_new"), _valid(moving_average__fast_period="40", moving_average__slow_period="30")
    ).content.decode()
    assert _error_of(html, "moving_average__fast_period") == "must be less than slow_period (30)"


def test_bad_bot_settings_are_reported_next_to_their_fields(client, market, demo):
    html = client.post(
        reverse("dashboard:bot_new"),
        _valid(name="BTC Scalper", product_id="NOPE-USD", buy_threshold="2", max_position_usd="50"),
    ).content.decode()
    assert "already exists" in _error_of(html, "name")
    assert _error_of(html, "product_id") == "unknown trading pair &#x27;NOPE-USD&#x27;"
    assert _error_of(html, "buy_threshold") == "must be above 0 and at most 1"
    assert _error_of(html, "max_position_usd") == "must be at least the position size"
    assert "The bot was not saved" in html


def test_a_blank_weight_is_the_models_to_refuse(client, market):
    html = client.post(reverse("dashboard:bot_new"), _valid(rsi__weight="")).content.decode()
    assert _error_of(html, "rsi__weight") == "is required"


def test_the_edit_form_shows_the_bots_settings_and_saves_them(client, demo):
    bot = demo[0]
    html = client.get(reverse("dashboard:bot_edit", args=[bot.pk])).content.decode()
    assert 'value="BTC Scalper"' in html
    assert 'name="rsi__buy_threshold" value="35"' in html
    assert "data-weight-total" in html and 'data-weight="rsi__enabled"' in html
    data = _valid(name="BTC Scalper", product_id="BTC-USD", rsi__weight="0.4", moving_average__weight="0.2")
    data["macd__enabled"] = "on"
    response = client.post(reverse("dashboard:bot_edit", args=[bot.pk]), data)
    assert response.status_code == 302
    bot.refresh_from_db()
    assert bot.signal_config["rsi"]["weight"] == 0.4 and bot.signal_config["macd"]["enabled"] is True
    assert bot.status == "running"  # editing does not stop it


def test_the_new_bot_form_starts_from_the_default_signals(client, market):
    html = client.get(reverse("dashboard:bot_new")).content.decode()
    for name, settings in DEFAULT_SIGNAL_CONFIG.items():
        assert f'name="{name}__weight" value="{settings["weight"]}"' in html
    assert 'list="product-ids"' in html and '<option value="BTC-USD">' in html
