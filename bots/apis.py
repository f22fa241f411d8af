"""Bots over the API: CRUD, start/stop, confirmation, evaluation, temperatures.

Thin: input is checked by the same code as the admin and the model
(``bots.config`` for settings, ``Bot.clean`` for the pair); writes go through
``bots.services``, reads through ``bots.selectors``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from autotrader.api.base import (
    MARKET_ERRORS,
    ApiView,
    FiniteFloatField,
    MoneyField,
    RedactedCharField,
    UtcDateTimeField,
    get_object,
    id_parameter,
    validated_query,
)
from autotrader.exceptions import Conflict
from bots.config import ConfigError, bot_config_from_values
from bots.evaluator import Action, Confirmation, Temperature
from bots.models import Bot
from bots.selectors import (
    bot_confirmation,
    bot_evaluate_sample,
    bot_list,
    bot_temperature_summary,
    stuck_confirmations,
)
from bots.services import bot_create, bot_delete, bot_evaluate_now, bot_start, bot_stop, bot_update
from bots.signals import REGISTRY
from market.services import get_market_data, trading_mode_for
from market.types import Granularity, UnknownProduct

log = logging.getLogger(__name__)
ID = id_parameter("The bot's id.")
CONFLICT = {"409": "The bot's state forbids it: it has orders, or its stored settings or pair cannot be used."}


# --- signal_config --------------------------------------------------------
def _param_schema(param: Any) -> dict[str, Any]:
    if param.kind is bool:
        schema: dict[str, Any] = {"type": "boolean"}
    elif param.kind is str:
        schema = {"type": "string", "enum": list(param.choices)}
    else:
        schema = {"type": "integer" if param.kind is int else "number"}
        if param.minimum is not None:
            schema["minimum"] = param.minimum
        if param.maximum is not None:
            schema["maximum"] = param.maximum
    schema["default"] = param.default
    if param.help:
        schema["description"] = param.help
    return schema


def signal_config_schema() -> dict[str, Any]:
    """The JSON Schema of ``signal_config``, built from the signal registry."""
    signals = {}
    for name, cls in sorted(REGISTRY.items()):
        properties = {
            "enabled": {"type": "boolean", "default": True},
            "weight": {"type": "number", "minimum": 0, "maximum": 1},
        }
        properties.update({p.name: _param_schema(p) for p in cls.params})
        signals[name] = {
            "type": "object",
            "properties": properties,
            "required": ["weight"],
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "description": "Signal name -> settings. Weights of the enabled signals total at most 1.0; "
        "a fast period must be shorter than its slow period.",
        "properties": signals,
        "additionalProperties": False,
        "example": {
            "rsi": {"enabled": True, "weight": 0.4, "period": 14},
            "moving_average": {"enabled": True, "weight": 0.3, "fast_period": 10, "slow_period": 20},
            "macd": {"enabled": True, "weight": 0.3},
        },
    }


@extend_schema_field(signal_config_schema())
class SignalConfigField(serializers.JSONField):
    """Checked by bots.config, which names each bad setting by its dotted path."""


@extend_schema_field({"type": "object", "additionalProperties": {"type": "object"}})
class SignalConfigOutField(serializers.JSONField):
    """As stored: loose, so that a signal registered later (or only in tests) still conforms."""


def _oversized_numbers(value: Any, path: str) -> Iterator[str]:
    """Paths of integers too large for a float: bots.config would fail on them with an OverflowError."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _oversized_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _oversized_numbers(item, f"{path}.{index}")
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            yield path


# --- serializers ----------------------------------------------------------
def _default(name: str) -> Any:
    return Bot._meta.get_field(name).get_default


class BotInputSerializer(serializers.Serializer):
    """A bot's settings; absent fields take the model's defaults (PATCH keeps the current ones)."""

    name = serializers.CharField(max_length=100)
    product_id = serializers.CharField(max_length=32, help_text="Trading pair, e.g. BTC-USD.")
    granularity = serializers.ChoiceField(choices=[g.short for g in Granularity], default=_default("granularity"))
    live = serializers.BooleanField(
        default=False, help_text="Trade real money; also needs TRADING_MODE=live and credentials."
    )
    signal_config = SignalConfigField(default=_default("signal_config"))
    buy_threshold = serializers.FloatField(default=_default("buy_threshold"))
    sell_threshold = serializers.FloatField(default=_default("sell_threshold"))
    confirmation_minutes = serializers.FloatField(default=_default("confirmation_minutes"))
    cooldown_minutes = serializers.FloatField(default=_default("cooldown_minutes"))
    position_size_usd = serializers.DecimalField(max_digits=20, decimal_places=2, default=_default("position_size_usd"))
    max_position_usd = serializers.DecimalField(max_digits=20, decimal_places=2, default=_default("max_position_usd"))
    trade_step_pct = serializers.DecimalField(max_digits=8, decimal_places=4, default=_default("trade_step_pct"))
    max_trades_per_day = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, default=_default("max_trades_per_day")
    )
    daily_loss_limit_usd = serializers.DecimalField(
        max_digits=20, decimal_places=2, default=_default("daily_loss_limit_usd")
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Run bots.config over the settings as they will be saved (PATCH: merged with the bot's)."""
        oversized = list(_oversized_numbers(attrs.get("signal_config"), "signal_config"))
        if oversized:
            raise serializers.ValidationError({path: ["number too large"] for path in oversized})
        values = {**(self.instance.config_values() if self.instance is not None else {}), **attrs}
        try:
            bot_config_from_values(values)
        except ConfigError as exc:
            raise serializers.ValidationError({path: [message] for path, message in exc.errors.items()}) from exc
        return attrs


class BotOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    product_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Bot.Status.choices)
    paused_reason = RedactedCharField()
    pause_code = serializers.CharField()
    paused_at = UtcDateTimeField(allow_null=True)
    live = serializers.BooleanField()
    mode = serializers.SerializerMethodField(help_text="paper or live: what an order of this bot would be.")
    granularity = serializers.CharField()
    signal_config = SignalConfigOutField()
    buy_threshold = serializers.FloatField()
    sell_threshold = serializers.FloatField()
    confirmation_minutes = serializers.FloatField()
    cooldown_minutes = serializers.FloatField()
    position_size_usd = MoneyField()
    max_position_usd = MoneyField()
    trade_step_pct = MoneyField()
    max_trades_per_day = serializers.IntegerField()
    daily_loss_limit_usd = MoneyField()
    last_score = FiniteFloatField(allow_null=True)
    last_action = serializers.CharField()
    last_temperature = serializers.CharField()
    last_evaluated_at = UtcDateTimeField(allow_null=True)
    last_price = MoneyField(allow_null=True)
    last_skip_code = serializers.CharField()
    last_skip_reason = RedactedCharField()
    confirmation_action = serializers.CharField()
    confirmation_since = UtcDateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    def get_mode(self, bot: Bot) -> str:
        return trading_mode_for(live=bot.live)


class BotFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Bot.Status.choices, required=False)
    product_id = serializers.CharField(max_length=32, required=False)


class ConfirmationSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[a.value for a in Action])
    since = UtcDateTimeField(allow_null=True)
    required_seconds = serializers.FloatField()
    elapsed_seconds = serializers.FloatField()
    remaining_seconds = serializers.FloatField()
    progress = serializers.FloatField(help_text="0..1 share of the window held.")
    confirmed = serializers.BooleanField()


class SignalBreakdownSerializer(serializers.Serializer):
    name = serializers.CharField()
    weight = serializers.FloatField()
    score = FiniteFloatField(allow_null=True, help_text="null: not enough data.")
    contribution = FiniteFloatField(allow_null=True)
    indicators = serializers.DictField(child=FiniteFloatField(allow_null=True), help_text="Raw values (TA-Lib's).")
    reason = serializers.CharField()


class EvaluationSerializer(serializers.Serializer):
    """An evaluation in full: score, action, temperature, each signal with its raw indicators."""

    time = UtcDateTimeField(help_text="Market time of the evaluation.")
    score = FiniteFloatField(allow_null=True, help_text="-1 (strong sell) to +1 (strong buy).")
    action = serializers.ChoiceField(choices=[a.value for a in Action])
    temperature = serializers.ChoiceField(choices=[t.value for t in Temperature])
    emoji = serializers.SerializerMethodField()
    candle_time = UtcDateTimeField(allow_null=True, help_text="Open time of the last closed candle used.")
    close = FiniteFloatField(allow_null=True)
    signals = SignalBreakdownSerializer(many=True)
    confirmation = ConfirmationSerializer()
    reasons = serializers.ListField(child=serializers.CharField())

    def get_emoji(self, data: dict[str, Any]) -> str:
        return Temperature(data["temperature"]).emoji


@contextmanager
def _bot_settings_usable(bot: Bot) -> Iterator[None]:
    """Stored settings that no longer validate, or that no clock can hold, are a 409, not a 500."""
    try:
        yield
    except ConfigError as exc:
        raise Conflict(
            f"{bot.name}'s stored settings are invalid; fix them first",
            {"fields": {path: [message] for path, message in exc.errors.items()}},
        ) from exc
    except OverflowError as exc:
        raise Conflict(f"{bot.name}'s settings reach beyond what the market's clock can cover ({exc})") from exc
    except UnknownProduct as exc:
        raise Conflict(f"{bot.name}'s pair {bot.product_id} is not listed by the market") from exc


# --- bots -----------------------------------------------------------------
class BotListCreateApi(ApiView):
    @extend_schema(tags=["bots"], parameters=[BotFilterSerializer], responses=BotOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        """List bots by name, optionally of one status or pair."""
        return self.paginate(bot_list(**validated_query(request, BotFilterSerializer)), BotOutputSerializer)

    @extend_schema(tags=["bots"], request=BotInputSerializer, responses={201: BotOutputSerializer})
    def post(self, request: Request) -> Response:
        """Create a bot (stopped). Validated as the admin validates it; an unknown pair is refused."""
        serializer = BotInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bot = bot_create(**serializer.validated_data)
        return Response(BotOutputSerializer(bot).data, status=status.HTTP_201_CREATED)


class BotDetailApi(ApiView):
    api_errors = CONFLICT

    @extend_schema(tags=["bots"], parameters=[ID], responses=BotOutputSerializer)
    def get(self, request: Request, id: int) -> Response:
        """One bot: its settings and its live state (score, temperature, confirmation)."""
        return Response(BotOutputSerializer(get_object(Bot, id)).data)

    @extend_schema(tags=["bots"], parameters=[ID], request=BotInputSerializer, responses=BotOutputSerializer)
    def put(self, request: Request, id: int) -> Response:
        """Replace the bot's settings; absent optional fields return to their defaults."""
        return self._update(request, id, partial=False)

    @extend_schema(
        tags=["bots"], parameters=[ID], request=BotInputSerializer(partial=True), responses=BotOutputSerializer
    )
    def patch(self, request: Request, id: int) -> Response:
        """Change some settings; the result is validated as a whole."""
        return self._update(request, id, partial=True)

    @extend_schema(tags=["bots"], parameters=[ID], responses={204: None})
    def delete(self, request: Request, id: int) -> Response:
        """Delete a bot that never placed an order (409 otherwise: stop it instead)."""
        bot_delete(bot=get_object(Bot, id), at=get_market_data().now())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, id: int, *, partial: bool) -> Response:
        bot = get_object(Bot, id)
        serializer = BotInputSerializer(bot, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        bot = bot_update(bot=bot, **serializer.validated_data)
        return Response(BotOutputSerializer(bot).data)


class BotStartApi(ApiView):
    @extend_schema(tags=["bots"], parameters=[ID], request=None, responses=BotOutputSerializer)
    def post(self, request: Request, id: int) -> Response:
        """Run the bot: it is evaluated every tick from now on (its confirmation starts afresh)."""
        bot = bot_start(bot=get_object(Bot, id), at=get_market_data().now())
        return Response(BotOutputSerializer(bot).data)


class BotStopApi(ApiView):
    @extend_schema(tags=["bots"], parameters=[ID], request=None, responses=BotOutputSerializer)
    def post(self, request: Request, id: int) -> Response:
        """Stop the bot; its position stays as it is."""
        bot = bot_stop(bot=get_object(Bot, id), at=get_market_data().now())
        return Response(BotOutputSerializer(bot).data)


class ConfirmationStatusSerializer(ConfirmationSerializer):
    bot_id = serializers.IntegerField()
    seen_at = UtcDateTimeField(allow_null=True, help_text="Last evaluation that observed the pending action.")
    last_action = serializers.CharField(help_text="What the last evaluation said.")
    last_evaluated_at = UtcDateTimeField(allow_null=True)
    stuck_reason = serializers.CharField(allow_null=True, help_text="Why the pending action is stuck, if it is.")
    now = UtcDateTimeField(help_text="Market time the progress is measured at.")


class BotConfirmationStatusApi(ApiView):
    api_errors = CONFLICT

    @extend_schema(tags=["bots"], parameters=[ID], responses=ConfirmationStatusSerializer)
    def get(self, request: Request, id: int) -> Response:
        """How long the pending action has held, and how long it still must, at market time."""
        bot = get_object(Bot, id)
        now = get_market_data().now()
        with _bot_settings_usable(bot):
            c: Confirmation = bot_confirmation(bot=bot, now=now)
            data = {
                "bot_id": bot.pk,
                "action": c.action.value,
                "since": c.since,
                "required_seconds": c.required.total_seconds(),
                "elapsed_seconds": c.elapsed.total_seconds(),
                "remaining_seconds": c.remaining.total_seconds(),
                "progress": c.progress,
                "confirmed": c.confirmed,
            }
        stuck = next((s.why for s in stuck_confirmations(now=now) if s.bot.pk == bot.pk), None)
        data.update(
            seen_at=bot.confirmation_seen_at,
            last_action=bot.last_action,
            last_evaluated_at=bot.last_evaluated_at,
            stuck_reason=stuck,
            now=now,
        )
        return Response(ConfirmationStatusSerializer(data).data)


# --- evaluation -----------------------------------------------------------
class EvaluateNowSerializer(serializers.Serializer):
    bot_id = serializers.IntegerField()
    price = MoneyField(help_text="The pair's price at evaluation time.")
    evaluation = EvaluationSerializer()


class SampleSerializer(serializers.Serializer):
    product_id = serializers.CharField(help_text="The simulated pair used (BTC-USD when the bot's is not simulated).")
    seed = serializers.IntegerField()
    start = UtcDateTimeField()
    end = UtcDateTimeField()
    candles = serializers.IntegerField()


class SampleEvaluationSerializer(serializers.Serializer):
    bot_id = serializers.IntegerField()
    sample = SampleSerializer()
    evaluation = EvaluationSerializer()


class BotEvaluateApi(ApiView):
    api_errors = CONFLICT | MARKET_ERRORS

    @extend_schema(tags=["evaluation"], parameters=[ID], request=None, responses=EvaluateNowSerializer)
    def post(self, request: Request, id: int) -> Response:
        """Evaluate the bot now on live market data and store the result; never places an order.

        Advances the bot's confirmation exactly as a tick would.
        """
        bot = get_object(Bot, id)
        market = get_market_data()
        with _bot_settings_usable(bot):
            evaluation = bot_evaluate_now(bot, market)
        bot.refresh_from_db(fields=["last_price"])
        data = {"bot_id": bot.pk, "price": bot.last_price, "evaluation": evaluation.as_dict()}
        return Response(EvaluateNowSerializer(data).data)


class BotEvaluationTestApi(ApiView):
    api_errors = CONFLICT

    @extend_schema(tags=["evaluation"], parameters=[ID], responses=SampleEvaluationSerializer)
    def get(self, request: Request, id: int) -> Response:
        """Evaluate the bot's settings on a fixed simulated sample: no side effects at all."""
        bot = get_object(Bot, id)
        with _bot_settings_usable(bot):
            sample = bot_evaluate_sample(bot=bot)
        data = {
            "bot_id": bot.pk,
            "sample": {
                "product_id": sample.product_id,
                "seed": sample.seed,
                "start": sample.start,
                "end": sample.end,
                "candles": sample.candles,
            },
            "evaluation": sample.evaluation.as_dict(),
        }
        return Response(SampleEvaluationSerializer(data).data)


# --- temperatures ---------------------------------------------------------
class TemperatureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    product_id = serializers.CharField()
    # Plain text: the enum is documented once, on the bot (see BotOutput.status).
    status = serializers.CharField(help_text="stopped, running or paused.")
    score = FiniteFloatField(source="last_score", allow_null=True)
    temperature = serializers.CharField(source="last_temperature", allow_null=True, help_text="null: not evaluated.")
    emoji = serializers.SerializerMethodField()
    action = serializers.CharField(source="last_action", allow_null=True)
    confirmation_action = serializers.CharField()
    evaluated_at = UtcDateTimeField(source="last_evaluated_at", allow_null=True)

    def get_emoji(self, bot: Bot) -> str | None:
        return bot.temperature.emoji if bot.temperature else None

    def to_representation(self, bot: Bot) -> dict[str, Any]:
        data = super().to_representation(bot)
        data["temperature"] = data["temperature"] or None
        data["action"] = data["action"] or None
        return data


class TemperatureDetailSerializer(TemperatureSerializer):
    evaluation = serializers.SerializerMethodField()

    @extend_schema_field(EvaluationSerializer(allow_null=True))
    def get_evaluation(self, bot: Bot) -> dict[str, Any] | None:
        if not bot.last_evaluation:
            return None
        try:
            return EvaluationSerializer(bot.last_evaluation).data
        except (KeyError, TypeError, ValueError):
            # Stored by an older release in another shape: shown as absent until the next tick.
            log.warning("bot %s: stored evaluation has an unknown shape", bot.pk)
            return None


class TemperatureCountsSerializer(serializers.Serializer):
    FROZEN = serializers.IntegerField()
    COOL = serializers.IntegerField()
    WARM = serializers.IntegerField()
    HOT = serializers.IntegerField()
    NONE = serializers.IntegerField(help_text="Bots never evaluated.")


class TemperatureDashboardSerializer(serializers.Serializer):
    counts = TemperatureCountsSerializer()
    average_score = FiniteFloatField(allow_null=True)
    bots = TemperatureSerializer(many=True, help_text="Hottest first (by |score|).")


class BotTemperatureListApi(ApiView):
    @extend_schema(tags=["temperatures"], parameters=[BotFilterSerializer], responses=TemperatureSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Every bot's latest score and temperature, by name."""
        return self.paginate(bot_list(**validated_query(request, BotFilterSerializer)), TemperatureSerializer)


class BotTemperatureDashboardApi(ApiView):
    @extend_schema(tags=["temperatures"], responses=TemperatureDashboardSerializer)
    def get(self, request: Request) -> Response:
        """How many bots run at each temperature, and all of them hottest first."""
        summary = bot_temperature_summary(bots=bot_list())
        data = {"counts": summary.counts, "average_score": summary.average_score, "bots": summary.bots}
        return Response(TemperatureDashboardSerializer(data).data)


class BotTemperatureDetailApi(ApiView):
    @extend_schema(tags=["temperatures"], parameters=[ID], responses=TemperatureDetailSerializer)
    def get(self, request: Request, id: int) -> Response:
        """One bot's temperature with its last evaluation in full (raw indicators)."""
        return Response(TemperatureDetailSerializer(get_object(Bot, id)).data)
