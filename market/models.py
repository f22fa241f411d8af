"""Market-side rows: known products, the paper wallet and the simulated market's anchor."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from autotrader.fields import RedactedJSONField
from market.fields import ExactDecimalField
from market.types import Product as ProductSpec

MONEY = {"max_digits": 32, "decimal_places": 12}


class Product(models.Model):
    """A trading pair as the market reported it at the last sync."""

    product_id = models.CharField(max_length=32, primary_key=True)
    base_currency = models.CharField(max_length=16)
    quote_currency = models.CharField(max_length=16)
    base_increment = ExactDecimalField(**MONEY)
    quote_increment = ExactDecimalField(**MONEY)
    price_increment = ExactDecimalField(**MONEY)
    base_min_size = ExactDecimalField(**MONEY)
    base_max_size = ExactDecimalField(max_digits=40, decimal_places=12)
    quote_min_size = ExactDecimalField(**MONEY)
    quote_max_size = ExactDecimalField(max_digits=40, decimal_places=12)
    trading_disabled = models.BooleanField(default=False)
    cancel_only = models.BooleanField(default=False)
    limit_only = models.BooleanField(default=False)
    post_only = models.BooleanField(default=False)
    source = models.CharField(max_length=20)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["product_id"]

    def __str__(self) -> str:
        return self.product_id

    def to_spec(self) -> ProductSpec:
        def norm(d: Decimal) -> Decimal:
            return d.normalize() if d != 0 else Decimal(0)

        return ProductSpec(
            product_id=self.product_id,
            base_currency=self.base_currency,
            quote_currency=self.quote_currency,
            base_increment=norm(self.base_increment),
            quote_increment=norm(self.quote_increment),
            price_increment=norm(self.price_increment),
            base_min_size=norm(self.base_min_size),
            base_max_size=norm(self.base_max_size),
            quote_min_size=norm(self.quote_min_size),
            quote_max_size=norm(self.quote_max_size),
            trading_disabled=self.trading_disabled,
            cancel_only=self.cancel_only,
            limit_only=self.limit_only,
            post_only=self.post_only,
        )


class PaperBalance(models.Model):
    """The paper wallet: one row per currency, surviving restarts."""

    currency = models.CharField(max_length=16, primary_key=True)
    available = ExactDecimalField(**MONEY, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency"]
        constraints = [models.CheckConstraint(condition=models.Q(available__gte=0), name="paper_balance_nonnegative")]

    def __str__(self) -> str:
        return f"{self.available} {self.currency}"


class PaperOrder(models.Model):
    """The paper exchange's own record of an order, looked up by client_order_id."""

    order_id = models.CharField(max_length=64, primary_key=True)
    client_order_id = models.CharField(max_length=128, unique=True)
    product_id = models.CharField(max_length=32)
    side = models.CharField(max_length=4)
    status = models.CharField(max_length=20)
    price = ExactDecimalField(**MONEY, null=True)
    base_size = ExactDecimalField(**MONEY, default=Decimal("0"))
    fee = ExactDecimalField(**MONEY, default=Decimal("0"))
    fee_currency = models.CharField(max_length=16, default="USD")
    reject_reason = models.CharField(max_length=64, blank=True)
    reject_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.side} {self.product_id} {self.status}"


class SimulatedMarketState(models.Model):
    """Where the simulated market's clock is anchored, shared by every process.

    Market time = anchor_market + (wall - anchor_wall) * speed, so the web
    server, the runner and the workers all see the same prices at the same time.
    No process hands out a market time later than ``high_water`` (it raises it
    first), so a restart after a crash resumes from there, never earlier.
    """

    seed = models.IntegerField()
    epoch = models.DateTimeField(help_text="Start of the simulated price history.")
    anchor_wall = models.FloatField(help_text="UNIX wall time of the anchor.")
    anchor_market = models.DateTimeField()
    speed = models.FloatField()
    high_water = models.DateTimeField(
        null=True, blank=True, help_text="Market time reserved so far: no process has used a later one."
    )

    def __str__(self) -> str:
        return f"seed {self.seed} at {self.speed}x"


class StreamControl(models.Model):
    """Whether the market stream should run (one row, pk=1); the stream process obeys it."""

    enabled = models.BooleanField(default=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "stream on" if self.enabled else "stream off"


class Candle(models.Model):
    """Stored history for backtests (``manage.py fetch_candles``)."""

    product_id = models.CharField(max_length=32)
    granularity = models.CharField(max_length=4)
    time = models.DateTimeField(help_text="Open time of the candle (UTC).")
    open = ExactDecimalField(**MONEY)
    high = ExactDecimalField(**MONEY)
    low = ExactDecimalField(**MONEY)
    close = ExactDecimalField(**MONEY)
    volume = ExactDecimalField(max_digits=40, decimal_places=12)

    class Meta:
        ordering = ["product_id", "granularity", "time"]
        constraints = [
            models.UniqueConstraint(fields=["product_id", "granularity", "time"], name="candle_unique_time"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.granularity} {self.time:%Y-%m-%d %H:%M}"


class Heartbeat(models.Model):
    """A process's last sign of life (ticker, worker, market stream)."""

    name = models.CharField(max_length=200, unique=True, help_text="role@host:pid")
    role = models.CharField(max_length=20)
    host = models.CharField(max_length=200)
    pid = models.IntegerField()
    beat_at = models.DateTimeField()
    info = RedactedJSONField(default=dict, blank=True)  # holds the error that fails a process

    class Meta:
        db_table = "trading_heartbeat"  # created by the trading app before it moved here
        ordering = ["role", "name"]

    def __str__(self) -> str:
        return self.name
