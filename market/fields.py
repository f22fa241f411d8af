"""Money columns that SQLite keeps exact (docs/architecture-money.md).

Django's DecimalField is a ``decimal`` column on SQLite, which has NUMERIC
affinity: SQLite stores 0.1 as a float, keeps 15 significant digits and adds
floats in SUM(). ``ExactDecimalField`` stores the decimal as text on SQLite
(canonical, quantized to the field's places), compares and sorts it through
the ``exact_decimal`` collation and sums it with an exact aggregate; both are
registered on every SQLite connection. PostgreSQL keeps its ``numeric``
column, which is exact already: nothing changes there.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import migrations, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import SQLiteNumericMixin

COLLATION = "exact_decimal"
SUM_FUNCTION = "exact_decimal_sum"
# Wide enough for any sum of money columns; an inexact result raises instead of rounding.
_EXACT = decimal.Context(prec=200, traps=[decimal.InvalidOperation, decimal.Inexact])
# SQLite keeps 15 significant digits of a float: what a float in the database can hold.
_FLOAT = decimal.Context(prec=15)


def _decimal(value: str | int | float | Decimal) -> Decimal:
    if isinstance(value, float):  # an average, or a value stored before the column held text
        return _FLOAT.create_decimal_from_float(value)
    return Decimal(value)


def canonical_text(value: Decimal, places: int, rounding: str = ROUND_HALF_UP) -> str:
    """The stored form: fixed-point, ``places`` decimals, no exponent, no negative zero.

    Rounds half away from zero, as PostgreSQL's numeric does on the same column.
    """
    quantized = value.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=decimal.Context(prec=200))
    return format(abs(quantized) if quantized.is_zero() else quantized, "f")


class ExactDecimalField(models.DecimalField):
    """A DecimalField that is exact on SQLite too (text there, numeric elsewhere)."""

    description = "Decimal number, stored exactly on every database"

    def get_internal_type(self) -> str:
        # Not "DecimalField": Django's SQLite backend reads those through a float
        # and casts expressions over them to NUMERIC (a float again).
        return "ExactDecimalField"

    def db_type(self, connection: BaseDatabaseWrapper) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return connection.data_types["DecimalField"] % self.db_type_parameters(connection)

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "sqlite":
            params["collation"] = COLLATION  # =, <, ORDER BY, MIN/MAX and CHECKs compare as numbers
        return params

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor != "sqlite" or not isinstance(value, Decimal):
            return value
        return canonical_text(value, self.decimal_places)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value  # PostgreSQL's numeric arrives as an exact Decimal already
        places = Decimal(1).scaleb(-self.decimal_places)
        return _decimal(value).quantize(places, rounding=ROUND_HALF_EVEN, context=decimal.Context(prec=200))


# --- SQLite: the collation and the sum the text columns need ------------------
def _collate(a: str, b: str) -> int:
    try:
        x, y = Decimal(a), Decimal(b)
    except decimal.InvalidOperation:  # not a number (raw SQL wrote it): keep a total order
        return (a > b) - (a < b)
    return (x > y) - (x < y)


class _ExactSum:
    """SUM() over exact decimal text: Decimal arithmetic, returned as text."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | int | float | None) -> None:
        if value is not None:
            d = _decimal(value)
            self.total = d if self.total is None else _EXACT.add(self.total, d)

    def finalize(self) -> str | None:
        return None if self.total is None else format(self.total, "f")


def sqlite_register(connection: BaseDatabaseWrapper) -> None:
    """Give a SQLite connection what exact decimal columns need (every connection must have it)."""
    raw = connection.connection
    raw.create_collation(COLLATION, _collate)
    raw.create_aggregate(SUM_FUNCTION, 1, _ExactSum)


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        sqlite_register(connection)


def _sum_as_sqlite(self: models.Sum, compiler: Any, connection: BaseDatabaseWrapper, **extra_context: Any) -> Any:
    """Django's Sum on SQLite: exact over an ExactDecimalField, SQLite's float SUM otherwise."""
    if isinstance(self.output_field, ExactDecimalField):
        return models.Aggregate.as_sql(self, compiler, connection, function=SUM_FUNCTION, **extra_context)
    return SQLiteNumericMixin.as_sqlite(self, compiler, connection, **extra_context)  # Django's own


def exact_decimal_install() -> None:
    """Called once from MarketConfig.ready(): every SQLite connection, and every Sum, knows exact columns."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_connection_created, dispatch_uid="market.fields.exact_decimal")
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "sqlite" and connection.connection is not None:
            sqlite_register(connection)
    # Django has no per-field hook for an aggregate's SQL: Sum itself learns the exact variant.
    models.Sum.as_sqlite = _sum_as_sqlite


def sqlite_rewrite_exact(app_label: str) -> migrations.RunPython:
    """The migration step after an app's columns became ExactDecimalFields: canonical text on SQLite.

    The table rebuild of AlterField copies a float into a text column as its
    15 significant digits ("83322.42", "1.0e-12"), which is what Django read
    from it before. This rounds those to the field's places the same way
    (half to even) and writes them as the field writes new values.
    """

    def rewrite(apps: Any, schema_editor: Any) -> None:
        connection = schema_editor.connection
        if connection.vendor != "sqlite":
            return
        connection.connection.create_function(
            "exact_decimal_text",
            2,
            lambda value, places: canonical_text(_decimal(value), places, ROUND_HALF_EVEN),
            deterministic=True,
        )
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model in apps.get_app_config(app_label).get_models():
                table = qn(model._meta.db_table)
                for field in model._meta.local_fields:
                    if isinstance(field, ExactDecimalField):
                        column = qn(field.column)
                        cursor.execute(
                            f"UPDATE {table} SET {column} = exact_decimal_text({column}, %s) "  # noqa: S608 - quoted names
                            f"WHERE {column} IS NOT NULL",
                            [field.decimal_places],
                        )

    return migrations.RunPython(rewrite, migrations.RunPython.noop, elidable=True)
