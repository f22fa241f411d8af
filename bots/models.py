"""The Bot: one trading pair, its signal settings, its limits and its live state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from autotrader.fields import RedactedCharField, RedactedJSONField
from bots.config import DEFAULT_SIGNAL_CONFIG, BotConfig, ConfigError, bot_config_from_values
from bots.evaluator import Action, ConfirmationState, Temperature
from market.fields import ExactDecimalField
from market.selectors import product_exists, products_known
from market.types import UNRESOLVED_ORDER_STATUSES, Granularity

CONFIG_FIELDS = (
    "signal_config",
    "position_size_usd",
    "max_position_usd",
    "buy_threshold",
    "sell_threshold",
    "confirmation_minutes",
    "cooldown_minutes",
    "trade_step_pct",
    "max_trades_per_day",
    "daily_loss_limit_usd",
    "granularity",
)


def default_signal_config() -> dict[str, Any]:
    return {name: dict(settings) for name, settings in DEFAULT_SIGNAL_CONFIG.items()}


class Bot(models.Model):
    class Status(models.TextChoices):
        STOPPED = "stopped", "Stopped"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"

    name = models.CharField(max_length=100, unique=True)
    product_id = models.CharField("trading pair", max_length=32, help_text="e.g. BTC-USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STOPPED)
    paused_reason = RedactedCharField(max_length=500, blank=True)  # may quote the exchange
    pause_code = models.CharField(
        max_length=40, blank=True, help_text="Why it paused, as a code (e.g. daily_loss_limit)."
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    live = models.BooleanField(
        default=False,
        help_text="Trade real money on this bot. Also needs TRADING_MODE=live and valid credentials.",
    )
    live_checked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the live checks last passed (wall clock). Every start and every switch to live "
        "clears it, so the next evaluation checks again before a real order.",
    )

    signal_config = models.JSONField(default=default_signal_config)
    granularity = models.CharField(
        max_length=4, choices=[(g.short, g.short) for g in Granularity], default=Granularity.FIVE_MINUTE.short
    )
    position_size_usd = ExactDecimalField(max_digits=20, decimal_places=2, default=Decimal("100"))
    max_position_usd = ExactDecimalField(max_digits=20, decimal_places=2, default=Decimal("500"))
    buy_threshold = models.FloatField(default=0.3)
    sell_threshold = models.FloatField(default=-0.3)
    confirmation_minutes = models.FloatField(default=5)
    cooldown_minutes = models.FloatField(default=0)
    trade_step_pct = ExactDecimalField(max_digits=8, decimal_places=4, default=Decimal("1"))
    max_trades_per_day = models.PositiveIntegerField(default=10)
    daily_loss_limit_usd = ExactDecimalField(max_digits=20, decimal_places=2, default=Decimal("50"))

    # Live state, written by the runner after each evaluation.
    last_score = models.FloatField(null=True, blank=True)
    last_action = models.CharField(max_length=4, choices=[(a.value, a.value) for a in Action], blank=True)
    last_temperature = models.CharField(max_length=6, choices=[(t.value, t.value) for t in Temperature], blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_evaluation = models.JSONField(default=dict, blank=True)
    last_price = ExactDecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    last_skip_code = models.CharField(max_length=40, blank=True)
    last_skip_reason = RedactedCharField(max_length=500, blank=True)
    confirmation_action = models.CharField(
        max_length=4, choices=[(a.value, a.value) for a in Action], default=Action.HOLD.value
    )
    confirmation_since = models.DateTimeField(null=True, blank=True)
    confirmation_seen_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The evaluation lease: one evaluation per bot at a time, across processes.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(position_size_usd__gt=0), name="bot_position_size_positive"),
            models.CheckConstraint(condition=models.Q(max_position_usd__gte=0), name="bot_max_position_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.product_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A switch to live is a new start of live trading: its checks run again before a real order."""
        if self.live and not getattr(self, "_loaded_live", False):
            self.live_checked_at = None
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "live_checked_at"}
        super().save(*args, **kwargs)
        self._loaded_live = self.live

    @classmethod
    def from_db(cls, db, field_names, values):
        bot = super().from_db(db, field_names, values)
        bot._loaded_live = bot.__dict__.get("live")  # what the row says, before any edit
        return bot

    def config_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONFIG_FIELDS}

    def clean(self) -> None:
        """Validate through bots.config, the one home of bot validation."""

        errors: dict[str, list[str]] = {}
        try:
            bot_config_from_values(self.config_values())
        except ConfigError as exc:
            for path, message in exc.errors.items():
                field = path.split(".", 1)[0]
                text = message if field == path else f"{path}: {message}"
                errors.setdefault(field, []).append(text)
        self.product_id = (self.product_id or "").strip().upper()
        if self.product_id and not product_exists(self.product_id):
            known = "" if products_known() else " (no pairs are known yet: runbots and seed_demo sync them)"
            errors.setdefault("product_id", []).append(f"unknown trading pair {self.product_id!r}{known}")
        elif self.pk and self.product_id:
            held = self.position_held()
            if held is not None and held.product_id != self.product_id:
                errors.setdefault("product_id", []).append(
                    f"the bot holds {held.base_size.normalize()} on {held.product_id}; sell it before changing the pair"
                )
        if self.pk:
            self._clean_against_orders(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_against_orders(self, errors: dict[str, list[str]]) -> None:
        """What the bot's orders and holdings forbid changing now (its fills must land where they were made)."""
        unresolved = self.orders.filter(status__in=UNRESOLVED_ORDER_STATUSES)
        other_pair = unresolved.exclude(product_id=self.product_id).first()
        if other_pair is not None:
            errors.setdefault("product_id", []).append(
                f"order {other_pair.client_order_id} on {other_pair.product_id} is {other_pair.status}: "
                "change the pair once its outcome is known"
            )
        if self.live == bool(getattr(self, "_loaded_live", False)):
            return
        if not self.live:
            pending = unresolved.filter(mode="live").first()
            if pending is not None:
                errors.setdefault("live", []).append(
                    f"live order {pending.client_order_id} is {pending.status}: the bot stays live until "
                    "its outcome is known (it is looked up on Coinbase every tick)"
                )
                return
        held = self.position_held()
        if held is not None:
            errors.setdefault("live", []).append(
                f"the bot holds {held.base_size.normalize()} {held.product_id}; sell it before switching "
                "between paper and live (a position bought on paper is not coins on Coinbase, and the reverse)"
            )

    def position_held(self):
        """The bot's open position, or None (a reverse read: bots does not import trading)."""
        position = getattr(self, "position", None) if self.pk else None
        return position if position is not None and position.base_size > 0 else None

    @property
    def config(self) -> BotConfig:
        return bot_config_from_values(self.config_values())

    @property
    def confirmation_state(self) -> ConfirmationState:
        return ConfirmationState(Action(self.confirmation_action), self.confirmation_since, self.confirmation_seen_at)

    @property
    def temperature(self) -> Temperature | None:
        return Temperature(self.last_temperature) if self.last_temperature else None


class ActivityEvent(models.Model):
    """Everything that happened, for the activity feed: newest first."""

    class Kind(models.TextChoices):
        DECISION = "decision", "Decision"
        SKIP = "skip", "Skip"
        ORDER = "order", "Order"
        FILL = "fill", "Fill"
        ERROR = "error", "Error"
        STATE = "state", "State change"
        BREAKER = "breaker", "Breaker"
        CONFIRMATION = "confirmation", "Confirmation"
        SYSTEM = "system", "System"

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    bot = models.ForeignKey("Bot", on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    message = RedactedCharField(max_length=1000)  # exception and exchange texts end up here
    data = RedactedJSONField(default=dict, blank=True)
    at = models.DateTimeField(help_text="Market time of the event.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "trading_activityevent"  # created by the trading app before it moved here
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at", "-id"]), models.Index(fields=["bot", "-at"])]

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"
