"""The overview's partials cost a fixed number of queries, however many bots and events there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bots.models import ActivityEvent
from bots.services import bot_create

pytestmark = pytest.mark.django_db
PARTIALS = ("portfolio_panel", "bot_cards_panel", "activity_panel", "status_bar")


def _queries(htmx) -> dict[str, int]:
    counts = {}
    for name in PARTIALS:
        with CaptureQueriesContext(connection) as ctx:
            assert htmx(reverse(f"dashboard:{name}")).status_code == 200
        counts[name] = len(ctx)
    return counts


def _grow(market, bots: int, events: int) -> None:
    start = ActivityEvent.objects.count()
    for i in range(bots):
        bot_create(name=f"extra-{start}-{i}", product_id="ETH-USD")
    now = market.now()
    ActivityEvent.objects.bulk_create(
        ActivityEvent(kind="skip", message=f"event {start + i}", at=now) for i in range(events)
    )


def test_overview_partials_do_not_query_per_bot_or_per_event(htmx, demo, market):
    htmx(reverse("dashboard:overview"))  # warm the process-wide market and its products
    small = _queries(htmx)
    _grow(market, bots=10, events=500)
    large = _queries(htmx)
    assert large == small, (small, large)


def test_the_cards_are_one_query_and_panels_without_the_banner_do_not_read_the_kill_switch(htmx, demo, market):
    htmx(reverse("dashboard:overview"))
    for name in ("bot_cards_panel", "activity_panel", "portfolio_panel"):
        with CaptureQueriesContext(connection) as ctx:
            htmx(reverse(f"dashboard:{name}"))
        assert not any("killswitch" in q["sql"].lower() for q in ctx.captured_queries), name
    with CaptureQueriesContext(connection) as ctx:
        htmx(reverse("dashboard:bot_cards_panel"))
    reads_of_bots = [q for q in ctx.captured_queries if 'FROM "bots_bot"' in q["sql"]]
    assert len(reads_of_bots) == 1  # the bots, their positions and newest fills in one query
    with CaptureQueriesContext(connection) as ctx:
        htmx(reverse("dashboard:status_bar"))  # it shows the banner, so it reads the switch (once)
    assert sum("killswitch" in q["sql"].lower() for q in ctx.captured_queries) == 1
