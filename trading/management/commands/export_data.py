"""Export bots, orders, trades, positions, activity, backtests, the wallet and logins to a JSON file."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from trading.transfer import data_export


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="file to write (.json or .json.gz)")

    def handle(self, *args, path: str, **options) -> None:
        counts = data_export(path)
        for model, n in counts.items():
            self.stdout.write(f"{model:<28} {n}")
        self.stdout.write(self.style.SUCCESS(f"exported {sum(counts.values())} rows to {path}"))
