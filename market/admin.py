"""Admin for market rows: products (read-only) and the paper wallet."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from autotrader.admin import ReadOnlyAdmin
from market.models import Heartbeat, PaperBalance, PaperOrder, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "product_id",
        "base_min_size",
        "base_increment",
        "quote_min_size",
        "price_increment",
        "trading_disabled",
        "source",
        "synced_at",
    )

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PaperBalance)
class PaperBalanceAdmin(admin.ModelAdmin):
    list_display = ("currency", "available", "updated_at")


@admin.register(PaperOrder)
class PaperOrderAdmin(admin.ModelAdmin):
    list_display = ("created_at", "product_id", "side", "status", "price", "base_size", "fee", "reject_reason")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "role", "host", "pid", "beat_at")
