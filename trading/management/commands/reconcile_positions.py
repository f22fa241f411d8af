"""Compare orders, trades and positions with the exchange: 'check' reports (exit 1 on differences), 'fix' repairs."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from market.services import exchange_for, get_market_data
from trading.reconcile import reconcile


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["check", "fix"])
        parser.add_argument("--days", type=float, default=7, help="orders of the last N days (default 7)")

    def handle(self, *args, action: str, days: float, **options) -> None:
        found = reconcile(exchange_for=exchange_for, now=get_market_data().now(), days=days, fix=action == "fix")
        if not found:
            self.stdout.write(self.style.SUCCESS("Orders, trades and positions match the exchange."))
            return
        for d in found:
            mark = "fixed" if d.fixed else "found"
            self.stdout.write(f"[{mark}] {d.bot}: {d.kind}: {d.detail}")
        if action == "check":
            raise CommandError(f"{len(found)} difference(s); run 'reconcile_positions fix' to repair")
        self.stdout.write(self.style.SUCCESS(f"Repaired {len(found)} difference(s)."))
