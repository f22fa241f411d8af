"""The dashboard's bot form: every setting, validated by the model (bots.config), errors by field.

``signal_config`` is edited as one group of fields per registered signal
(enabled, weight and the signal's own ``params``) and put back together into
the JSON the model stores. The form adds no rules of its own: the model's
``clean()`` judges the assembled bot, and its messages about
``signal_config.<signal>.<setting>`` are shown next to that signal's field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from bots.config import DEFAULT_SIGNAL_CONFIG
from bots.models import Bot
from bots.signals import REGISTRY, Param
from market.models import Product

BOT_FIELDS = (
    "name",
    "product_id",
    "granularity",
    "live",
    "buy_threshold",
    "sell_threshold",
    "confirmation_minutes",
    "position_size_usd",
    "max_position_usd",
    "trade_step_pct",
    "cooldown_minutes",
    "max_trades_per_day",
    "daily_loss_limit_usd",
)
# Bot.clean reports a signal setting as "signal_config.<signal>.<setting>: <message>".
SIGNAL_ERROR = re.compile(r"^signal_config\.(?P<signal>\w+)(?:\.(?P<setting>\w+))?: (?P<message>.*)$", re.DOTALL)


def signal_field_name(signal: str, setting: str) -> str:
    return f"{signal}__{setting}"


def _signal_names() -> list[str]:
    """Registered signals, the default ones first in their usual order (RSI, moving average, MACD)."""
    usual = list(DEFAULT_SIGNAL_CONFIG)
    return sorted(REGISTRY, key=lambda name: (usual.index(name) if name in usual else len(usual), name))


@dataclass(frozen=True)
class SignalGroup:
    """One signal's fields, for the template."""

    name: str
    label: str
    enabled: forms.BoundField
    weight: forms.BoundField
    params: list[forms.BoundField]


def _param_field(param: Param, initial: Any) -> forms.Field:
    help_text = param.help
    if param.kind is bool:
        return forms.BooleanField(required=False, initial=initial, help_text=help_text)
    if param.kind is str:
        return forms.ChoiceField(
            required=False, initial=initial, choices=[(c, c) for c in param.choices], help_text=help_text
        )
    if param.kind is int:
        return forms.IntegerField(required=False, initial=initial, help_text=help_text)
    return forms.FloatField(
        required=False, initial=initial, help_text=help_text, widget=forms.NumberInput(attrs={"step": "any"})
    )


class BotForm(forms.ModelForm):
    """Create or edit a bot. Save it with bots.services (``bot_create`` / ``bot_update``) from ``bot_fields()``."""

    class Meta:
        model = Bot
        fields = BOT_FIELDS
        widgets = {
            "product_id": forms.TextInput(attrs={"list": "product-ids", "autocomplete": "off"}),
            "buy_threshold": forms.NumberInput(attrs={"step": "any"}),
            "sell_threshold": forms.NumberInput(attrs={"step": "any"}),
            "confirmation_minutes": forms.NumberInput(attrs={"step": "any"}),
            "cooldown_minutes": forms.NumberInput(attrs={"step": "any"}),
        }
        help_texts = {
            "buy_threshold": "Score at or above which the bot buys (0 to 1).",
            "sell_threshold": "Score at or below which the bot sells (-1 to 0).",
            "confirmation_minutes": "How long an action must hold before it trades (0 = at once).",
            "position_size_usd": "Spent per buy: half at the buy threshold, all of it at a score of +1.",
            "max_position_usd": "The most the bot holds, at the current price.",
            "trade_step_pct": "A further buy needs the price this far below the last buy.",
            "cooldown_minutes": "Minutes between two trades.",
            "max_trades_per_day": "Trades per market day.",
            "daily_loss_limit_usd": "Realised loss in a day that pauses the bot until the next day.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.signal_config if isinstance(self.instance.signal_config, dict) else {}
        for name in _signal_names():
            cls = REGISTRY[name]
            settings = current.get(name) if isinstance(current.get(name), dict) else {}
            self.fields[signal_field_name(name, "enabled")] = forms.BooleanField(
                required=False, initial=settings.get("enabled", True) if settings else False, label="Enabled"
            )
            self.fields[signal_field_name(name, "weight")] = forms.FloatField(
                required=False,
                initial=settings.get("weight", 0.0),
                label="Weight",
                widget=forms.NumberInput(
                    attrs={"step": "any", "data-weight": self.add_prefix(signal_field_name(name, "enabled"))}
                ),
            )
            for param in cls.params:
                field = _param_field(param, settings.get(param.name, param.default))
                field.label = param.name.replace("_", " ")
                self.fields[signal_field_name(name, param.name)] = field
        self.product_ids = list(Product.objects.values_list("product_id", flat=True))

    @property
    def signal_groups(self) -> list[SignalGroup]:
        return [
            SignalGroup(
                name=name,
                label=REGISTRY[name].label,
                enabled=self[signal_field_name(name, "enabled")],
                weight=self[signal_field_name(name, "weight")],
                params=[self[signal_field_name(name, p.name)] for p in REGISTRY[name].params],
            )
            for name in _signal_names()
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.instance.signal_config = self._signal_config(cleaned)
        return cleaned

    def _signal_config(self, cleaned: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The JSON the model validates; a blank setting is left out so the model's rule for it applies."""
        config: dict[str, dict[str, Any]] = {}
        for name in _signal_names():
            cls = REGISTRY[name]
            entry: dict[str, Any] = {"enabled": bool(cleaned.get(signal_field_name(name, "enabled")))}
            for setting in ("weight", *(p.name for p in cls.params)):
                value = cleaned.get(signal_field_name(name, setting))
                if value is not None and value != "":
                    entry[setting] = value
            config[name] = entry
        return config

    def _update_errors(self, errors: ValidationError) -> None:
        """Show the model's signal_config messages next to the field they name."""
        if hasattr(errors, "error_dict") and "signal_config" in errors.error_dict:
            for error in errors.error_dict.pop("signal_config"):
                for message in error.messages:
                    self._route_signal_error(message)
            if not errors.error_dict:
                return
        super()._update_errors(errors)

    def _route_signal_error(self, message: str) -> None:
        match = SIGNAL_ERROR.match(message)
        if match is None:
            self.add_error(None, message)
            return
        field = signal_field_name(match["signal"], match["setting"] or "")
        if match["setting"] and field in self.fields:
            self.add_error(field, match["message"])
        else:
            # Not one field's fault (the weights' total, an unknown signal): shown by the signals' total.
            self.add_error(None, match["message"] if match["signal"] == "weight" else message)

    def bot_fields(self) -> dict[str, Any]:
        """The cleaned settings, signal_config included, for bots.services."""
        fields = {name: self.cleaned_data[name] for name in self._meta.fields}
        fields["signal_config"] = self.instance.signal_config
        return fields

    @property
    def signal_errors(self) -> list[str]:
        return list(self.errors.get(NON_FIELD_ERRORS, []))


class BotSettingsForm(BotForm):
    """A bot's trading settings without its name or live switch: an edited copy to backtest, never saved."""

    class Meta(BotForm.Meta):
        fields = tuple(name for name in BOT_FIELDS if name not in ("name", "live"))
