"""Redact secrets out of texts stored before redaction happened at storage (run once after upgrading).

Every field of ``autotrader.fields`` (pause and skip reasons, order rejections,
the activity feed, heartbeats) redacts what it writes; rows written by an
older version may still quote a JWT or a key name. This reads each such
column and writes back the ones that change. Safe to run again.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from autotrader.fields import RedactedCharField, RedactedJSONField
from autotrader.logging import redacted

REDACTED_FIELDS = (RedactedCharField, RedactedJSONField)


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, REDACTED_FIELDS)]
            if not fields:
                continue
            changed = 0
            with transaction.atomic():
                for pk, *values in model._base_manager.values_list("pk", *fields).iterator():
                    new = {name: redacted(value) for name, value in zip(fields, values) if redacted(value) != value}
                    if new:
                        model._base_manager.filter(pk=pk).update(**new)
                        changed += 1
            if changed:
                self.stdout.write(f"{model._meta.label}: {changed} rows redacted")
            total += changed
        self.stdout.write(f"{total} rows changed")
