"""Orders, fills, positions, the activity feed and the global safety switches."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from autotrader.fields import RedactedCharField
from market.fields import ExactDecimalField
from market.types import OrderStatus, Side
from trading.accounting import unrealised_pnl

MONEY = {"max_digits": 32, "decimal_places": 12}


class Order(models.Model):
    """One decision's order, written with its client_order_id before the exchange call."""

    class Mode(models.TextChoices):
        PAPER = "paper", "Paper"
        LIVE = "live", "Live"

    bot = models.ForeignKey("bots.Bot", on_delete=models.PROTECT, related_name="orders")
    client_order_id = models.CharField(max_length=128, unique=True)
    decision_key = models.CharField(
        max_length=200, unique=True, help_text="One order per decision: bot and evaluation time."
    )
    exchange_order_id = models.CharField(max_length=128, blank=True, db_index=True)
    mode = models.CharField(max_length=5, choices=Mode.choices)
    product_id = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=[(s.value, s.value) for s in Side])
    quote_size = ExactDecimalField(**MONEY, null=True, blank=True)
    base_size = ExactDecimalField(**MONEY, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=[(s.value, s.value) for s in OrderStatus], default=OrderStatus.PENDING.value
    )
    filled_size = ExactDecimalField(**MONEY, default=Decimal("0"))
    average_price = ExactDecimalField(**MONEY, null=True, blank=True)
    fees = ExactDecimalField(**MONEY, default=Decimal("0"))
    # The exchange's words: redacted before they are stored (autotrader/fields.py).
    reject_reason = RedactedCharField(max_length=64, blank=True)
    reject_message = RedactedCharField(max_length=500, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Why the bot placed it.")
    score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(help_text="Market time of the decision.")
    written_at = models.DateTimeField(
        default=timezone.now,
        help_text="Wall-clock time the row was written: waiting for the exchange's answer counts from it.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["bot", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.side} {self.product_id} {self.status} ({self.client_order_id})"


class Trade(models.Model):
    """A fill reported by the exchange; positions are derived from these."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="trades")
    bot = models.ForeignKey("bots.Bot", on_delete=models.PROTECT, related_name="trades")
    trade_id = models.CharField(max_length=128, unique=True)
    product_id = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=[(s.value, s.value) for s in Side])
    price = ExactDecimalField(**MONEY)
    size = ExactDecimalField(**MONEY)
    fee = ExactDecimalField(**MONEY)
    fee_currency = models.CharField(max_length=16)
    quote_value = ExactDecimalField(**MONEY)
    realised_pnl = ExactDecimalField(**MONEY, default=Decimal("0"))
    executed_at = models.DateTimeField()

    class Meta:
        ordering = ["-executed_at", "-id"]
        indexes = [models.Index(fields=["bot", "-executed_at"]), models.Index(fields=["product_id", "-executed_at"])]

    def __str__(self) -> str:
        return f"{self.side} {self.size} {self.product_id} @ {self.price}"


class Position(models.Model):
    """A bot's holding, recomputed from its trades after every fill."""

    bot = models.OneToOneField("bots.Bot", on_delete=models.CASCADE, related_name="position")
    product_id = models.CharField(max_length=32)
    base_size = ExactDecimalField(**MONEY, default=Decimal("0"))
    cost_basis = ExactDecimalField(**MONEY, default=Decimal("0"))
    average_entry = ExactDecimalField(**MONEY, null=True, blank=True)
    last_buy_price = ExactDecimalField(**MONEY, null=True, blank=True)
    realised_pnl = ExactDecimalField(**MONEY, default=Decimal("0"))
    fees_paid = ExactDecimalField(**MONEY, default=Decimal("0"))
    opened_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.base_size} {self.product_id} ({self.bot_id})"

    def unrealised_pnl(self, mark: Decimal | None) -> Decimal | None:
        return None if mark is None else unrealised_pnl(self.base_size, self.cost_basis, mark)


class Tranche(models.Model):
    """An open part of a position: what remains of one buy."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="tranches")
    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="+")
    entry_price = ExactDecimalField(**MONEY)
    size = ExactDecimalField(**MONEY)
    cost = ExactDecimalField(**MONEY)
    opened_at = models.DateTimeField()

    class Meta:
        ordering = ["opened_at", "id"]

    def __str__(self) -> str:
        return f"{self.size} @ {self.entry_price}"


class KillSwitch(models.Model):
    """The global stop: while engaged, no bot places a new order (one row, pk=1)."""

    engaged = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "kill switch"
        verbose_name_plural = "kill switch"

    def __str__(self) -> str:
        return "ENGAGED" if self.engaged else "off"


class Lease(models.Model):
    """A named lock with an expiry, claimed by conditional update (the ticker lease)."""

    name = models.CharField(max_length=100, primary_key=True)
    owner = models.CharField(max_length=200, blank=True)
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner or 'nobody'}"


class BacktestRun(models.Model):
    """One ``manage.py backtest``: what ran, on which data, and what came out."""

    name = models.CharField(max_length=200, help_text="The bot's name or the config file.")
    bot = models.ForeignKey("bots.Bot", on_delete=models.SET_NULL, null=True, blank=True, related_name="backtests")
    config = models.JSONField(help_text="The bot settings that ran (signal_config, thresholds, limits).")
    product_id = models.CharField(max_length=32)
    granularity = models.CharField(max_length=4)
    source = models.CharField(max_length=500, help_text="Where the candles came from.")
    start = models.DateTimeField(help_text="Close of the first candle decided on.")
    end = models.DateTimeField(help_text="Close of the last candle.")
    candles = models.PositiveIntegerField()
    starting_balance = ExactDecimalField(**MONEY)
    fee_rate = ExactDecimalField(max_digits=10, decimal_places=8)
    slippage_rate = ExactDecimalField(max_digits=10, decimal_places=8)
    total_return = models.FloatField(null=True)
    buy_and_hold_return = models.FloatField(null=True)
    max_drawdown = models.FloatField(null=True)
    sharpe = models.FloatField(null=True)
    trades = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict)
    trade_list = models.JSONField(default=list, blank=True, help_text="Round trips: entry, exit, size, fees, P&L.")
    sweep = models.JSONField(default=list, blank=True, help_text="Every combination of a parameter sweep, ranked.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.product_id} {self.granularity} {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"
