"""Bot configuration: validated once, into frozen values.

This module is the one home of bot validation. The model's ``clean()``, the
admin form, the API serializers and the backtester's ``--config`` all call
``validate_bot_settings`` / ``parse_signal_config``, so a bad setting is
refused everywhere with the same message naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bots.signals import REGISTRY
from bots.signals.base import Signal
from market.types import Granularity

MAX_TOTAL_WEIGHT = 1.0
# Bounds that keep a setting meaningful (a week-long window is already unusual).
UPPER_BOUNDS = {
    "confirmation_minutes": 10_080,
    "cooldown_minutes": 10_080,
    "trade_step_pct": 100,
    "max_trades_per_day": 10_000,
    "position_size_usd": 10**12,
    "max_position_usd": 10**12,
    "daily_loss_limit_usd": 10**12,
}
# Keep a bot's history inside one market-data cache entry (market.cache keeps 1,500 candles).
MAX_HISTORY_CANDLES = 1000
WEIGHTS_TOO_HIGH = "enabled signal weights total {total:.4g}, more than 1.0"
UNKNOWN_SIGNAL = "unknown signal {name!r}; known signals: {known}"

DEFAULT_SIGNAL_CONFIG: dict[str, dict[str, Any]] = {
    "rsi": {"enabled": True, "weight": 0.4, "period": 14, "buy_threshold": 30, "sell_threshold": 70},
    "moving_average": {"enabled": True, "weight": 0.3, "fast_period": 10, "slow_period": 20},
    "macd": {"enabled": True, "weight": 0.3, "fast_period": 12, "slow_period": 26, "signal_period": 9},
}


class ConfigError(ValueError):
    """Invalid configuration; ``errors`` maps a dotted field path to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class SignalSpec:
    """One enabled or disabled signal with its weight and parameters."""

    name: str
    enabled: bool
    weight: float
    params: dict[str, Any]

    def build(self) -> Signal:
        return REGISTRY[self.name](**self.params)


@dataclass(frozen=True)
class BotConfig:
    """Everything the pure core needs to know about a bot."""

    signals: tuple[SignalSpec, ...]
    buy_threshold: float = 0.3
    sell_threshold: float = -0.3
    confirmation_minutes: float = 5
    granularity: Granularity = Granularity.FIVE_MINUTE
    position_size_usd: Decimal = Decimal("100")
    max_position_usd: Decimal = Decimal("500")
    cooldown_minutes: float = 0
    trade_step_pct: Decimal = Decimal("1")
    max_trades_per_day: int = 10
    daily_loss_limit_usd: Decimal = Decimal("50")
    built: tuple[tuple[SignalSpec, Signal], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "built", tuple((s, s.build()) for s in self.signals if s.enabled))

    @property
    def history_needed(self) -> int:
        """Candles to load so every enabled signal has a value, and a settled one.

        Settled (``Signal.settle_candles``): the live value no longer depends on
        where the window starts, so it equals the backtester's value over the
        whole series. Capped below the market-data cache's series length.
        """
        need = max((sig.min_candles() for _, sig in self.built), default=1)
        settled = max((sig.min_candles() + sig.settle_candles() for _, sig in self.built), default=1)
        return max(need * 3, 100, min(settled, MAX_HISTORY_CANDLES))


def _coerce(param, raw: Any, path: str, errors: dict[str, str]) -> Any:
    if param.kind is bool:
        if isinstance(raw, bool):
            return raw
        errors[path] = "must be true or false"
        return None
    if param.kind is str:
        if raw in param.choices:
            return raw
        errors[path] = f"must be one of {', '.join(param.choices)}"
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
        errors[path] = "must be a number"
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError, OverflowError):
        errors[path] = "must be a number"
        return None
    if not math.isfinite(number):
        errors[path] = "must be a finite number"
        return None
    if param.kind is int:
        if number != int(number):
            errors[path] = "must be a whole number"
            return None
        number = int(number)
    if param.minimum is not None and number < param.minimum:
        errors[path] = f"must be at least {param.minimum:g}"
        return None
    if param.maximum is not None and number > param.maximum:
        errors[path] = f"must be at most {param.maximum:g}"
        return None
    return number


def parse_signal_config(raw: Any, *, prefix: str = "signal_config") -> tuple[SignalSpec, ...]:
    """Validate a ``signal_config`` JSON value; raise ConfigError naming each bad field."""
    errors: dict[str, str] = {}
    if not isinstance(raw, dict):
        raise ConfigError({prefix: "must be an object mapping signal names to their settings"})
    specs: list[SignalSpec] = []
    known = ", ".join(sorted(REGISTRY))
    for name, settings in raw.items():
        path = f"{prefix}.{name}"
        cls = REGISTRY.get(name)
        if cls is None:
            errors[path] = UNKNOWN_SIGNAL.format(name=name, known=known)
            continue
        if not isinstance(settings, dict):
            errors[path] = "must be an object of settings"
            continue
        allowed = {"enabled", "weight"} | {p.name for p in cls.params}
        for extra in sorted(set(settings) - allowed):
            errors[f"{path}.{extra}"] = f"unknown setting for {name}; allowed: {', '.join(sorted(allowed))}"
        enabled = settings.get("enabled", True)
        if not isinstance(enabled, bool):
            errors[f"{path}.enabled"] = "must be true or false"
            enabled = False
        weight = settings.get("weight")
        if weight is None:
            errors[f"{path}.weight"] = "is required"
            weight = 0.0
        else:
            from bots.signals.base import Param

            weight = _coerce(Param("weight", float, 0, 0.0, 1.0), weight, f"{path}.weight", errors)
            weight = 0.0 if weight is None else weight
        params: dict[str, Any] = {}
        for p in cls.params:
            if p.name in settings:
                value = _coerce(p, settings[p.name], f"{path}.{p.name}", errors)
                if value is not None:
                    params[p.name] = value
            else:
                params[p.name] = p.default
        if not any(k.startswith(f"{path}.") for k in errors):
            for key, message in cls.check(params).items():
                errors[f"{path}.{key}"] = message
        specs.append(SignalSpec(name, enabled, float(weight), params))
    # One canonical order (by name) whatever order the JSON came in: PostgreSQL's
    # jsonb does not keep key order, and the weighted sum must add up identically
    # for the live bot and its backtest.
    specs.sort(key=lambda spec: spec.name)
    total = sum(s.weight for s in specs if s.enabled)
    if total > MAX_TOTAL_WEIGHT + 1e-9:
        errors[f"{prefix}.weight"] = WEIGHTS_TOO_HIGH.format(total=total)
    if errors:
        raise ConfigError(errors)
    return tuple(specs)


def validate_bot_settings(values: dict[str, Any]) -> dict[str, str]:
    """Check the scalar bot settings; returns field -> message (empty when valid)."""
    errors: dict[str, str] = {}

    def number(name: str) -> Decimal | None:
        v = values.get(name)
        if v is None:
            return None
        try:
            d = Decimal(str(v))
        except ArithmeticError:
            errors[name] = "must be a number"
            return None
        if not d.is_finite():
            errors[name] = "must be a finite number"
            return None
        return d

    for name in (
        "position_size_usd",
        "max_position_usd",
        "cooldown_minutes",
        "confirmation_minutes",
        "trade_step_pct",
        "daily_loss_limit_usd",
        "max_trades_per_day",
    ):
        d = number(name)
        if d is not None and d < 0 and name not in errors:
            errors[name] = "must not be negative"
        elif d is not None and name in UPPER_BOUNDS and d > UPPER_BOUNDS[name] and name not in errors:
            errors[name] = f"must be at most {UPPER_BOUNDS[name]}"
    size, cap = number("position_size_usd"), number("max_position_usd")
    if size is not None and size == 0 and "position_size_usd" not in errors:
        errors["position_size_usd"] = "must be more than 0"
    if (
        size is not None
        and cap is not None
        and cap < size
        and not errors.keys() & {"position_size_usd", "max_position_usd"}
    ):
        errors["max_position_usd"] = "must be at least the position size"
    buy, sell = number("buy_threshold"), number("sell_threshold")
    if buy is not None and not (0 < buy <= 1):
        errors["buy_threshold"] = "must be above 0 and at most 1"
    if sell is not None and not (-1 <= sell < 0):
        errors["sell_threshold"] = "must be below 0 and at least -1"
    gran = values.get("granularity")
    if gran is not None:
        try:
            Granularity.parse(gran)
        except ValueError as exc:
            errors["granularity"] = str(exc)
    return errors


def bot_config_from_values(values: dict[str, Any]) -> BotConfig:
    """Build a BotConfig from a mapping of bot fields (model, form or JSON file)."""
    errors = validate_bot_settings(values)
    try:
        signals = parse_signal_config(values.get("signal_config", DEFAULT_SIGNAL_CONFIG))
    except ConfigError as exc:
        errors.update(exc.errors)
        signals = ()
    if errors:
        raise ConfigError(errors)

    def dec(name: str, default: str) -> Decimal:
        v = values.get(name)
        return Decimal(str(v)) if v is not None else Decimal(default)

    return BotConfig(
        signals=signals,
        buy_threshold=float(values.get("buy_threshold", 0.3)),
        sell_threshold=float(values.get("sell_threshold", -0.3)),
        confirmation_minutes=float(values.get("confirmation_minutes", 5)),
        granularity=Granularity.parse(values.get("granularity", "5m")),
        position_size_usd=dec("position_size_usd", "100"),
        max_position_usd=dec("max_position_usd", "500"),
        cooldown_minutes=float(values.get("cooldown_minutes", 0)),
        trade_step_pct=dec("trade_step_pct", "1"),
        max_trades_per_day=int(values.get("max_trades_per_day", 10)),
        daily_loss_limit_usd=dec("daily_loss_limit_usd", "50"),
    )
