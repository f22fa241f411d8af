"""The health page: processes, the task queue, market data, the stream, errors, the log tail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from bots.services import activity_record
from market.selectors import market_data_health
from trading.runner import Runner

pytestmark = pytest.mark.django_db


def test_the_health_page_shows_heartbeats_tick_duration_worker_cache_and_stream(client, demo, market, wallet):
    Runner(market=market, exchange_for=lambda bot: wallet, owner="test").tick()
    html = client.get(reverse("dashboard:health")).content.decode()
    assert "ticker@" in html and " ms</td>" in html  # the runner's heartbeat and last tick duration
    assert "Task queue (django-q2)" in html and "No worker cluster is running" in html
    assert "Hit rate" in html and "upstream_calls" in html
    assert "Market stream" in html and "not running" in html
    assert 'id="log-tail"' in html


def test_recent_errors_are_listed(htmx, demo, market):
    activity_record(kind="error", level="error", message="order rejected: INSUFFICIENT_FUND", at=market.now())
    html = htmx(reverse("dashboard:health_panel")).content.decode()
    assert "order rejected: INSUFFICIENT_FUND" in html.split('id="health-errors"')[1]


def test_the_log_tail_shows_the_end_of_the_chosen_log_without_secrets(htmx, settings, tmp_path, demo):
    settings.LOG_DIR = tmp_path
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmdhbml6YXRpb25zIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    lines = [f"line {i}" for i in range(500)] + [f"calling coinbase with Bearer {jwt}", "api_secret=hunter2hunter2"]
    (tmp_path / "runner.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "worker.log").write_text("worker says hello\n")
    html = htmx(reverse("dashboard:log_tail_panel"), data={"log": "runner"}).content.decode()
    assert "line 499" in html and "line 250" not in html  # the last 200 lines
    assert jwt not in html and "hunter2" not in html and "[REDACTED]" in html
    assert "worker says hello" in htmx(reverse("dashboard:log_tail_panel"), data={"log": "worker"}).content.decode()
    html = htmx(reverse("dashboard:log_tail_panel"), data={"log": "../../etc/passwd"}).content.decode()
    assert "logs/runner.log" in html  # anything but a known log name falls back to the runner's


def test_a_missing_log_says_so(htmx, settings, tmp_path, demo):
    settings.LOG_DIR = tmp_path
    assert (
        "The web log is empty or missing"
        in htmx(reverse("dashboard:log_tail_panel"), data={"log": "web"}).content.decode()
    )


def test_upstream_calls_per_minute_come_from_samples_of_the_shared_counters(market, clock):
    first = market_data_health(market=market, wall=1000.0)
    assert first.upstream_per_minute is None  # one sample: no rate yet
    before = market.stats()["upstream_calls"]
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        market.ticker("BTC-USD")
    calls = market.stats()["upstream_calls"] - before
    assert calls > 0
    later = market_data_health(market=market, wall=1030.0)
    assert later.upstream_per_minute == pytest.approx(calls / 30 * 60)
