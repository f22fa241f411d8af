"""Money columns keep every digit on SQLite (text there), and PostgreSQL keeps its numeric.

SQLite's ``decimal`` columns held floats: 15 significant digits, and SUM()
added floats (0.1 + 0.2 came back 0.30000000000000004). ExactDecimalField
stores canonical text, compares it through a decimal collation and sums it
exactly; these tests read the raw column too, not only the ORM.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max, Min, Q, Sum

from market.models import PaperBalance, PaperOrder

pytestmark = pytest.mark.django_db
SQLITE = connection.vendor == "sqlite"
AT = datetime(2026, 1, 10, tzinfo=UTC)


def paper_order(n: int, **fields) -> PaperOrder:
    values = {"product_id": "BTC-USD", "side": "BUY", "status": "FILLED", "created_at": AT, **fields}
    return PaperOrder(order_id=f"o{n}", client_order_id=f"c{n}", **values)


def raw(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_seventeen_digits_and_a_picodollar_come_back_exactly():
    price, fee = Decimal("83322.123456789012"), Decimal("0.000000000001")
    paper_order(1, price=price, base_size=Decimal("0.1"), fee=fee).save()
    got = PaperOrder.objects.get()
    assert (got.price, got.fee, got.base_size) == (price, fee, Decimal("0.1"))
    if SQLITE:
        assert raw("SELECT typeof(price), price, fee, base_size FROM market_paperorder") == [
            ("text", "83322.123456789012", "0.000000000001", "0.100000000000")
        ]
    else:  # PostgreSQL: the same numeric column as ever
        assert raw(
            "SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = 'market_paperorder' AND column_name = 'price'"
        ) == [("numeric", 32, 12)]


def test_sums_are_exact_decimals():
    rng = random.Random(12)
    fees = [Decimal("0.1"), Decimal("0.2")] + [Decimal(rng.randrange(1, 10**12)).scaleb(-12) for _ in range(998)]
    prices = [Decimal(rng.randrange(1, 10**17)).scaleb(-12) for _ in fees]  # up to 99,999.999999999999
    PaperOrder.objects.bulk_create(
        paper_order(i, fee=fee, price=price, side="BUY" if i % 2 else "SELL")
        for i, (fee, price) in enumerate(zip(fees, prices, strict=True))
    )
    totals = PaperOrder.objects.aggregate(
        fees=Sum("fee"), prices=Sum("price"), buys=Sum("fee", filter=Q(side="BUY")), none=Sum("fee", filter=Q(pk=""))
    )
    assert totals == {
        "fees": sum(fees),
        "prices": sum(prices),
        "buys": sum(fees[1::2]),
        "none": None,
    }
    assert str(totals["fees"]) == format(sum(fees).quantize(Decimal("1e-12")), "f")  # as PostgreSQL gives it
    assert PaperOrder.objects.filter(pk__in=["o0", "o1"]).aggregate(s=Sum("fee"))["s"] == Decimal("0.3")
    by_side = dict(PaperOrder.objects.values_list("side").annotate(s=Sum("fee")))
    assert by_side == {"SELL": sum(fees[0::2]), "BUY": sum(fees[1::2])}


def test_comparisons_and_ordering_are_numeric():
    prices = ["9", "10", "-2.5", "0.000000000001", "100", "0"]
    PaperOrder.objects.bulk_create(paper_order(i, price=Decimal(p)) for i, p in enumerate(prices))
    ordered = PaperOrder.objects.order_by("price")
    assert [o.price for o in ordered] == sorted(Decimal(p) for p in prices)  # "10" < "9" as text
    assert set(PaperOrder.objects.filter(price__gt=5).values_list("price", flat=True)) == {9, 10, 100}
    assert PaperOrder.objects.filter(price__lte=Decimal("0.000000000001")).count() == 3
    assert PaperOrder.objects.exclude(price=0).count() == 5
    assert PaperOrder.objects.filter(price=Decimal("10.0000")).count() == 1
    assert PaperOrder.objects.aggregate(hi=Max("price"), lo=Min("price")) == {"hi": 100, "lo": Decimal("-2.5")}


def test_database_checks_compare_numbers():
    PaperBalance.objects.create(currency="USD", available=Decimal("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperBalance.objects.create(currency="BTC", available=Decimal("-0.000000000001"))
    PaperBalance.objects.filter(currency="USD").update(available=Decimal("10"))
    assert PaperBalance.objects.get().available == 10


@pytest.mark.skipif(not SQLITE, reason="PostgreSQL's numeric columns needed no conversion")
@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_stored_floats_into_exact_text():
    executor = MigrationExecutor(connection)
    executor.migrate([("market", "0003_candle")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO market_paperorder (order_id, client_order_id, product_id, side, status, price, "
                "base_size, fee, fee_currency, reject_reason, reject_message, created_at) "
                "VALUES ('o1', 'c1', 'BTC-USD', 'BUY', 'FILLED', 83322.42, 100, 1e-12, 'USD', '', '', '2026-01-10')"
            )
        assert raw("SELECT typeof(price), typeof(base_size), typeof(fee) FROM market_paperorder") == [
            ("real", "integer", "real")
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert raw("SELECT price, base_size, fee FROM market_paperorder") == [
        ("83322.420000000000", "100.000000000000", "0.000000000001")
    ]
    order = PaperOrder.objects.get()
    assert (order.price, order.base_size, order.fee) == (Decimal("83322.42"), 100, Decimal("1e-12"))


@pytest.mark.skipif(SQLITE, reason="PostgreSQL only")
def test_postgresql_columns_do_not_change():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    for app, migration in [("market", "0004"), ("bots", "0002"), ("trading", "0004")]:
        call_command("sqlmigrate", app, migration, stdout=out)
    statements = {line for line in out.getvalue().splitlines() if line and not line.startswith("--")}
    assert statements == {"BEGIN;", "COMMIT;"}  # every AlterField is a no-op there
