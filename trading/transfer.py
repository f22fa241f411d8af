"""Export and import of the system's data, for a move between databases.

Django's JSON serializer cuts datetimes to milliseconds; decision times and
fills keep their microseconds here (full ISO 8601), and Decimals travel as
strings, so an import is the exact database that was exported.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
import uuid
from typing import Any

from django.apps import apps
from django.core import serializers
from django.core.management.color import no_style
from django.db import connection, transaction

# Runtime-only tables (leases, heartbeats, cache, task results) are left out.
EXCLUDED = {"trading.lease", "trading.heartbeat"}


def exported_models() -> list:
    """Models in an order where every foreign key points at a model before it."""
    models = [apps.get_model("auth", "User")]
    for label in ("market", "bots", "trading"):
        models += [m for m in apps.get_app_config(label).get_models() if m._meta.label_lower not in EXCLUDED]
    models += [apps.get_model("authtoken", "Token"), apps.get_model("django_q", "Schedule")]
    return models


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot export {type(value).__name__}")


def data_export(path: str) -> dict[str, int]:
    rows: list[dict] = []
    counts: dict[str, int] = {}
    for model in exported_models():
        objects = serializers.serialize("python", model.objects.order_by("pk"))
        counts[model._meta.label] = len(objects)
        rows += objects
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as fh:
        json.dump(rows, fh, default=_encode)
    return counts


@transaction.atomic
def data_import(rows: list[dict]) -> int:
    """Load exported rows, replacing users and schedules made by migrations or start-up."""
    apps.get_model("authtoken", "Token").objects.all().delete()
    apps.get_model("auth", "User").objects.all().delete()
    apps.get_model("django_q", "Schedule").objects.all().delete()
    count = 0
    for obj in serializers.deserialize("python", rows):
        obj.save()
        count += 1
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), exported_models()):
            cursor.execute(sql)
    return count
