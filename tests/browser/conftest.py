"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

They skip with a reason when /usr/bin/chromium is absent (CI installs it with
apt; no browser is ever downloaded). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "a-long-browser-password"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test thread; the tests
    # still talk to the database from that thread, synchronously and on purpose.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def admin_user(transactional_db):
    return get_user_model().objects.create_superuser("admin", password=PASSWORD)


@pytest.fixture
def demo(market, transactional_db) -> list:
    from bots.models import Bot

    call_command("seed_demo", verbosity=0)
    return list(Bot.objects.order_by("name"))


@pytest.fixture
def page(browser, live_server, admin_user) -> Iterator:
    """A logged-in page, 1600x1000; the test fails on any JavaScript error or failed sub-request."""
    client = Client()
    client.force_login(admin_user)
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, device_scale_factor=1)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []

    def on_response(response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status} for {response.request.resource_type} {response.url}")

    def on_failure(request) -> None:
        # A poll in flight when the page navigates away is aborted by the browser: not a fault.
        if "ABORTED" not in (request.failure or ""):
            problems.append(f"request failed: {request.url} ({request.failure})")

    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on("response", on_response)
    page.on("requestfailed", on_failure)
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
