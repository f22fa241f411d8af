"""Redis down: the health views say so and show the rest; other reads answer 503, never 500.

The cache and the broker point at a port on 127.0.0.1 where nothing listens, so
every Redis call fails as it does during an outage (connection refused).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from market.cache import CachedMarketData
from market.processes import heartbeat
from tests.system.harness import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings, monkeypatch, market, sim) -> str:
    """Django's cache and django-q2's broker on a closed port; the market cache rebuilt on it."""
    from django_q.conf import Conf

    from market.services import market_use

    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)
    market_use(CachedMarketData(sim))
    return url


@pytest.fixture
def browser(admin_user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


def test_the_health_page_says_redis_is_unavailable_and_shows_the_heartbeats(browser, redis_down):
    heartbeat("ticker", {"lease": True})
    for url in (reverse("dashboard:health"), reverse("dashboard:health_panel")):
        response = browser.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "Redis unavailable" in html and "Connection refused" in html
        assert "ticker@" in html  # what the database knows is still shown


def test_the_health_api_answers_503_saying_redis_is_unavailable(browser, redis_down):
    response = browser.get("/api/v1/system/health")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"].startswith("Redis unavailable")
    assert body["task_queue"]["broker_error"].startswith("Redis unavailable") and body["task_queue"]["queued"] is None
    assert body["kill_switch"]["engaged"] is False  # the rest is still reported


def test_the_ticker_api_answers_503_redis_unavailable(browser, redis_down):
    response = browser.get("/api/v1/market/ticker/BTC-USD")
    assert response.status_code == 503
    assert response.json()["message"].startswith("Redis unavailable")
    assert response.json()["extra"] == {"redis": "unavailable"}


def test_a_page_that_needs_redis_answers_503_redis_unavailable_not_500(browser, redis_down):
    response = browser.get(reverse("dashboard:backtest_job", args=["some-job"]))  # jobs live in the cache
    assert response.status_code == 503
    assert "Redis unavailable" in response.content.decode()


def test_the_api_kill_switch_works_with_redis_down(browser, redis_down):
    """The write throttle counts in Redis; an outage must not stop the brakes."""
    from trading.services import kill_switch_engaged

    response = browser.post(
        "/api/v1/kill-switch", {"engaged": True, "reason": "panic"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert kill_switch_engaged()
