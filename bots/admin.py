"""Admin for bots: the first interface. Validation comes from the model (bots.config)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from autotrader.admin import ReadOnlyAdmin
from bots.models import ActivityEvent, Bot
from bots.services import bot_evaluate_now, bot_reset_confirmation, bot_start, bot_stop
from market.services import get_market_data, trading_mode_for


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "product_id",
        "status_badge",
        "mode",
        "score",
        "temperature",
        "last_action",
        "confirmation",
        "position_size",
        "pnl",
        "last_skip_reason",
    )
    list_filter = ("status", "product_id", "live")
    search_fields = ("name", "product_id")
    actions = ("start_bots", "stop_bots", "evaluate_now", "reset_confirmation")

    class Media:
        css = {"all": ["dashboard/admin.css"]}  # colours as classes: the CSP allows no inline styles

    readonly_fields = (
        "status",
        "paused_reason",
        "last_score",
        "last_action",
        "last_temperature",
        "last_evaluated_at",
        "last_price",
        "last_skip_reason",
        "confirmation_action",
        "confirmation_since",
        "consecutive_failures",
        "last_evaluation",
    )
    fieldsets = (
        (None, {"fields": ("name", "product_id", "granularity", "live")}),
        ("Signals", {"fields": ("signal_config", "buy_threshold", "sell_threshold", "confirmation_minutes")}),
        (
            "Limits",
            {
                "fields": (
                    "position_size_usd",
                    "max_position_usd",
                    "trade_step_pct",
                    "cooldown_minutes",
                    "max_trades_per_day",
                    "daily_loss_limit_usd",
                )
            },
        ),
        ("State", {"classes": ("collapse",), "fields": readonly_fields}),
    )

    def save_model(self, request, obj: Bot, form, change: bool) -> None:
        """Write only what the form changed: the runner may have paused the bot meanwhile."""
        if not change:
            obj.save()
        elif form.changed_data:
            obj.save(update_fields=[*form.changed_data, "updated_at"])

    def get_queryset(self, request: HttpRequest) -> QuerySet[Bot]:
        return super().get_queryset(request).select_related("position")

    @admin.display(description="status", ordering="status")
    def status_badge(self, bot: Bot) -> str:
        title = bot.paused_reason or bot.status
        return format_html('<b class="bot-status {}" title="{}">{}</b>', bot.status, title, bot.get_status_display())

    @admin.display(description="mode")
    def mode(self, bot: Bot) -> str:

        live = trading_mode_for(live=bot.live) == "live"
        return format_html('<b class="bot-mode {}">{}</b>', "live" if live else "paper", "LIVE" if live else "paper")

    @admin.display(description="score", ordering="last_score")
    def score(self, bot: Bot) -> str:
        return "—" if bot.last_score is None else f"{bot.last_score:+.3f}"

    @admin.display(description="temperature", ordering="last_temperature")
    def temperature(self, bot: Bot) -> str:
        t = bot.temperature
        return f"{t.emoji} {t.value}" if t else "—"

    @admin.display(description="confirmation")
    def confirmation(self, bot: Bot) -> str:
        c = (bot.last_evaluation or {}).get("confirmation") or {}
        if not c or c.get("action") == "hold":
            return "—"
        if c.get("confirmed"):
            return f"{c['action']} confirmed"
        return f"{c['action']} {c.get('progress', 0) * 100:.0f}% ({c.get('remaining_seconds', 0) / 60:.1f} min left)"

    @admin.display(description="position")
    def position_size(self, bot: Bot) -> str:
        p = getattr(bot, "position", None)
        if p is None or p.base_size == 0:
            return "flat"
        return f"{p.base_size.normalize()} @ {p.average_entry.quantize(p.average_entry.__class__('0.01'))}"

    @admin.display(description="P&L (realised / unrealised)")
    def pnl(self, bot: Bot) -> str:
        p = getattr(bot, "position", None)
        if p is None:
            return "—"
        unrealised = p.unrealised_pnl(bot.last_price)
        u = "—" if unrealised is None else f"{unrealised:+.2f}"
        return f"{p.realised_pnl:+.2f} / {u}"

    @admin.action(description="Start selected bots")
    def start_bots(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        now = get_market_data().now()
        for bot in queryset:
            bot_start(bot=bot, at=now)
        self.message_user(request, f"Started {queryset.count()} bot(s).")

    @admin.action(description="Stop selected bots")
    def stop_bots(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        now = get_market_data().now()
        for bot in queryset:
            bot_stop(bot=bot, at=now)
        self.message_user(request, f"Stopped {queryset.count()} bot(s).")

    @admin.action(description="Evaluate now (no trading)")
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        market = get_market_data()
        for bot in queryset:
            try:
                ev = bot_evaluate_now(bot, market)
            except Exception as exc:
                self.message_user(request, f"{bot.name}: evaluation failed: {exc}", messages.ERROR)
                continue
            self.message_user(
                request, f"{bot.name}: score {ev.score:+.3f}, {ev.temperature.emoji} {ev.temperature}, {ev.action}"
            )

    @admin.action(description="Reset confirmation")
    def reset_confirmation(self, request: HttpRequest, queryset: QuerySet[Bot]) -> None:
        now = get_market_data().now()
        for bot in queryset:
            bot_reset_confirmation(bot=bot, at=now)
        self.message_user(request, f"Reset the confirmation of {queryset.count()} bot(s).")


@admin.register(ActivityEvent)
class ActivityEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "kind", "level", "bot", "message")
    list_filter = ("kind", "level")
    search_fields = ("message",)
    list_select_related = ("bot",)
