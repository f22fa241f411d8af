"""Store candles for backtests, e.g. fetch_candles BTC-USD --granularity 5m --days 30 (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from market.services import candles_fetch_history, get_market_data
from market.types import Granularity, UnknownProduct


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("product_id", help="e.g. BTC-USD")
        parser.add_argument("--granularity", default="5m", help="1m, 5m, 15m, 30m, 1h, 2h, 6h or 1d")
        parser.add_argument("--days", type=float, default=30, help="how far back from now")

    def handle(self, *args, product_id: str, granularity: str, days: float, **options) -> None:
        try:
            gran = Granularity.parse(granularity)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if days <= 0:
            raise CommandError("--days must be positive")
        market = get_market_data()
        product_id = product_id.upper()
        try:
            market.product(product_id)
        except UnknownProduct as exc:
            raise CommandError(str(exc)) from None
        end = market.now()
        fetched, added = candles_fetch_history(
            product_id=product_id, granularity=gran, start=end - timedelta(days=days), end=end
        )
        self.stdout.write(
            self.style.SUCCESS(f"{product_id} {gran.short}: fetched {fetched} candles, stored {added} new")
        )
