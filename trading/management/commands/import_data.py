"""Import a file written by export_data into an empty, migrated database (e.g. after moving to PostgreSQL)."""

from __future__ import annotations

import gzip
import json

from django.core.management.base import BaseCommand, CommandError

from bots.models import Bot
from trading.transfer import data_import


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="file written by export_data (.json or .json.gz)")

    def handle(self, *args, path: str, **options) -> None:
        if Bot.objects.exists():
            raise CommandError("this database already has bots; import into an empty, migrated database")
        opener = gzip.open if path.endswith(".gz") else open
        try:
            with opener(path, "rt", encoding="utf-8") as fh:
                rows = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        count = data_import(rows)
        self.stdout.write(self.style.SUCCESS(f"imported {count} rows from {path}"))
