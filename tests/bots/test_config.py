"""Bot validation: one home (bots.config), used by the model and the admin."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from bots.config import DEFAULT_SIGNAL_CONFIG, ConfigError, bot_config_from_values, parse_signal_config
from bots.models import Bot
from bots.services import bot_create


def signals(**changes) -> dict:
    cfg = copy.deepcopy(DEFAULT_SIGNAL_CONFIG)
    for path, value in changes.items():
        name, key = path.split("__")
        cfg[name][key] = value
    return cfg


def errors_of(raw) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_signal_config(raw)
    return info.value.errors


def test_default_config_is_valid():
    specs = parse_signal_config(DEFAULT_SIGNAL_CONFIG)
    assert [s.name for s in specs] == ["macd", "moving_average", "rsi"]  # canonical: by name
    assert sum(s.weight for s in specs) == pytest.approx(1.0)


def test_signal_order_is_canonical_whatever_the_json_order():
    shuffled = {name: DEFAULT_SIGNAL_CONFIG[name] for name in ("rsi", "macd", "moving_average")}
    assert parse_signal_config(shuffled) == parse_signal_config(DEFAULT_SIGNAL_CONFIG)


def test_unknown_signal_is_named():
    errors = errors_of({**DEFAULT_SIGNAL_CONFIG, "bollinger": {"enabled": True, "weight": 0.1}})
    assert "signal_config.bollinger" in errors
    assert "unknown signal 'bollinger'" in errors["signal_config.bollinger"]


def test_weights_over_one_are_refused():
    errors = errors_of(signals(rsi__weight=0.5))
    assert errors == {"signal_config.weight": "enabled signal weights total 1.1, more than 1.0"}


def test_disabled_signal_weights_do_not_count():
    specs = parse_signal_config(signals(rsi__weight=0.9, rsi__enabled=False))
    assert [s.name for s in specs if s.enabled] == ["macd", "moving_average"]


def test_fast_period_not_below_slow_is_refused():
    errors = errors_of(signals(moving_average__fast_period=20))
    assert "signal_config.moving_average.fast_period" in errors
    errors = errors_of(signals(macd__fast_period=30))
    assert "signal_config.macd.fast_period" in errors


def test_period_below_two_is_refused():
    assert errors_of(signals(rsi__period=1)) == {"signal_config.rsi.period": "must be at least 2"}


@pytest.mark.parametrize("value", [-1, 101])
def test_rsi_threshold_outside_0_100_is_refused(value):
    errors = errors_of(signals(rsi__buy_threshold=value))
    assert "signal_config.rsi.buy_threshold" in errors


def test_missing_weight_and_wrong_types_are_named():
    raw = {"rsi": {"enabled": "yes", "period": "fourteen"}}
    errors = errors_of(raw)
    assert errors["signal_config.rsi.weight"] == "is required"
    assert errors["signal_config.rsi.enabled"] == "must be true or false"
    assert errors["signal_config.rsi.period"] == "must be a number"


def test_non_finite_and_fractional_periods_are_refused():
    assert errors_of(signals(rsi__period=float("nan")))["signal_config.rsi.period"] == "must be a finite number"
    assert errors_of(signals(rsi__period=14.5))["signal_config.rsi.period"] == "must be a whole number"


def test_config_must_be_an_object():
    assert errors_of([1, 2]) == {"signal_config": "must be an object mapping signal names to their settings"}


def test_negative_sizes_and_bad_thresholds_are_named():
    with pytest.raises(ConfigError) as info:
        bot_config_from_values(
            {
                "position_size_usd": "-5",
                "max_position_usd": "100",
                "buy_threshold": 1.5,
                "sell_threshold": 0.2,
                "cooldown_minutes": -1,
                "granularity": "7m",
            }
        )
    errors = info.value.errors
    assert errors["position_size_usd"] == "must not be negative"
    assert errors["buy_threshold"] == "must be above 0 and at most 1"
    assert errors["sell_threshold"] == "must be below 0 and at least -1"
    assert errors["cooldown_minutes"] == "must not be negative"
    assert "unknown granularity '7m'" in errors["granularity"]


def test_max_position_below_position_size_is_refused():
    with pytest.raises(ConfigError) as info:
        bot_config_from_values({"position_size_usd": "200", "max_position_usd": "100"})
    assert info.value.errors == {"max_position_usd": "must be at least the position size"}


# --- the model and the admin use the same rules ----------------------------------
@pytest.mark.django_db
def test_model_clean_names_the_field(market):
    bot = Bot(name="x", product_id="BTC-USD", signal_config=signals(rsi__weight=0.9))
    with pytest.raises(ValidationError) as info:
        bot.full_clean()
    assert "signal_config" in info.value.message_dict
    assert "more than 1.0" in info.value.message_dict["signal_config"][0]


@pytest.mark.django_db
def test_unknown_pair_is_refused(market):
    with pytest.raises(ValidationError) as info:
        bot_create(name="x", product_id="FOO-USD")
    assert info.value.message_dict["product_id"] == ["unknown trading pair 'FOO-USD'"]


@pytest.mark.django_db
def test_pair_is_normalised_and_valid_bot_saves(market):
    bot = bot_create(name="lower", product_id="eth-usd", position_size_usd=Decimal("10"))
    assert bot.product_id == "ETH-USD"
    assert bot.config.position_size_usd == Decimal("10")


@pytest.mark.django_db
def test_admin_form_shows_the_same_error(admin_client, market):
    response = admin_client.post(
        "/admin/bots/bot/add/",
        {
            "name": "Bad",
            "product_id": "BTC-USD",
            "granularity": "5m",
            "signal_config": '{"rsi": {"enabled": true, "weight": 1.2, "period": 14}}',
            "buy_threshold": "0.3",
            "sell_threshold": "-0.3",
            "confirmation_minutes": "5",
            "position_size_usd": "100",
            "max_position_usd": "500",
            "trade_step_pct": "1",
            "cooldown_minutes": "0",
            "max_trades_per_day": "10",
            "daily_loss_limit_usd": "50",
        },
    )
    assert response.status_code == 200
    assert not Bot.objects.filter(name="Bad").exists()
    assert "signal_config.rsi.weight: must be at most 1" in response.content.decode()


def test_settings_have_upper_bounds():
    assert errors_of(signals(rsi__period=501)) == {"signal_config.rsi.period": "must be at most 500"}
    assert errors_of(signals(rsi__period=10**400))["signal_config.rsi.period"] == "must be a number"
    with pytest.raises(ConfigError) as info:
        bot_config_from_values({"confirmation_minutes": 1e300, "cooldown_minutes": 20_000})
    assert info.value.errors == {
        "confirmation_minutes": "must be at most 10080",
        "cooldown_minutes": "must be at most 10080",
    }


@pytest.mark.django_db
def test_pair_cannot_change_while_a_position_is_held(make_bot, market, wallet):
    from trading.engine import bot_tick

    bot = make_bot(score=1.0)
    bot_tick(bot.pk, market=market, exchange_for=lambda b: wallet, now=market.now(), owner="t")
    bot.product_id = "ETH-USD"
    with pytest.raises(ValidationError) as info:
        bot.full_clean()
    assert "sell it before changing the pair" in info.value.message_dict["product_id"][0]


@pytest.mark.django_db
def test_validating_a_bot_never_calls_the_market(monkeypatch):
    """Products come from the database; with none stored, the error says how they get there."""
    from market import services
    from market.models import Product

    def no_network(*args, **kwargs):
        raise AssertionError("validation reached for the market")

    monkeypatch.setattr(services, "products_sync", no_network)
    monkeypatch.setattr(services, "get_market_data", no_network)
    Product.objects.all().delete()
    with pytest.raises(ValidationError) as raised:
        Bot(name="x", product_id="BTC-USD").full_clean()
    assert "no pairs are known yet" in str(raised.value.message_dict["product_id"])
