"""Compare orders, trades and positions with the exchange each order went to; 'fix' repairs what it can.

Exit status: 0 the books match (or every difference was repaired), 1 differences
remain, 3 an exchange could not be asked (nothing was compared or changed).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from market.services import exchange_for_mode, get_market_data
from trading.reconcile import ExchangeUnreachable, reconcile

EXIT_DIFFERENCES = 1
EXIT_UNREACHABLE = 3


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["check", "fix"])
        parser.add_argument("--days", type=float, default=7, help="orders of the last N days (default 7)")

    def handle(self, *args, action: str, days: float, **options) -> None:
        try:
            found = reconcile(
                exchange_for_mode=exchange_for_mode, now=get_market_data().now(), days=days, fix=action == "fix"
            )
        except ExchangeUnreachable as exc:
            raise CommandError(str(exc), returncode=EXIT_UNREACHABLE) from None
        if not found:
            self.stdout.write(self.style.SUCCESS("Orders, trades and positions match the exchange."))
            return
        for d in found:
            mark = "fixed" if d.fixed else "found"
            self.stdout.write(f"[{mark}] {d.bot}: {d.kind}: {d.detail}")
        if action == "check":
            raise CommandError(
                f"{len(found)} difference(s); run 'reconcile_positions fix' to repair", returncode=EXIT_DIFFERENCES
            )
        repaired = sum(1 for d in found if d.fixed)
        left = len(found) - repaired
        if repaired:
            self.stdout.write(self.style.SUCCESS(f"Repaired {repaired} difference(s)."))
        if left:
            raise CommandError(
                f"{left} difference(s) could not be repaired from the exchange's record; see the [found] lines",
                returncode=EXIT_DIFFERENCES,
            )
