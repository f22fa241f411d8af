"""Admin for orders, trades, positions and activity (read-only) and the kill switch."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from autotrader.admin import ReadOnlyAdmin
from market.services import get_market_data
from trading.models import BacktestRun, KillSwitch, Order, Position, Trade, Tranche
from trading.services import kill_switch_set


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "bot",
        "mode",
        "side",
        "product_id",
        "quote_size",
        "base_size",
        "status",
        "filled_size",
        "average_price",
        "fees",
        "reject_reason",
    )
    list_filter = ("status", "side", "mode", "product_id")
    search_fields = ("client_order_id", "exchange_order_id", "bot__name")
    list_select_related = ("bot",)


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = ("executed_at", "bot", "side", "product_id", "size", "price", "fee", "fee_currency", "realised_pnl")
    list_filter = ("side", "product_id")
    search_fields = ("trade_id", "bot__name")
    list_select_related = ("bot",)


class TrancheInline(admin.TabularInline):
    model = Tranche
    extra = 0
    can_delete = False
    readonly_fields = ("opened_at", "entry_price", "size", "cost")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = (
        "bot",
        "product_id",
        "base_size",
        "average_entry",
        "cost_basis",
        "realised_pnl",
        "fees_paid",
        "opened_at",
    )
    inlines = (TrancheInline,)
    list_select_related = ("bot",)


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin):
    """Toggle the kill switch; saving goes through the service so it is recorded."""

    list_display = ("__str__", "engaged", "reason", "changed_by", "changed_at")
    fields = ("engaged", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not KillSwitch.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KillSwitch, form, change: bool) -> None:
        switch = kill_switch_set(
            engaged=obj.engaged, reason=obj.reason, by=request.user.get_username(), at=get_market_data().now()
        )
        obj.pk = switch.pk


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    """Backtests as ``manage.py backtest`` saved them; deletable, never edited."""

    list_display = (
        "created_at",
        "name",
        "product_id",
        "granularity",
        "start",
        "end",
        "candles",
        "return_pct",
        "buy_and_hold_pct",
        "drawdown_pct",
        "sharpe",
        "trades",
    )
    list_filter = ("product_id", "granularity")
    search_fields = ("name", "product_id")
    list_select_related = ("bot",)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return True

    @admin.display(description="return", ordering="total_return")
    def return_pct(self, obj: BacktestRun) -> str:
        return _pct(obj.total_return)

    @admin.display(description="buy and hold", ordering="buy_and_hold_return")
    def buy_and_hold_pct(self, obj: BacktestRun) -> str:
        return _pct(obj.buy_and_hold_return)

    @admin.display(description="max drawdown", ordering="max_drawdown")
    def drawdown_pct(self, obj: BacktestRun) -> str:
        return _pct(obj.max_drawdown)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f}%"
