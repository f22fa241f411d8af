"""The dashboard's balances in live mode: one Coinbase read per window, whatever the number of screens."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from market import services
from market.paper import paper_deposit

pytestmark = pytest.mark.django_db
ACCOUNTS = "GET /accounts"


@pytest.fixture
def screen(live_market, cb_exchange, settings, monkeypatch) -> Client:
    """A logged-in dashboard in live mode, the process's live exchange pointed at the fake."""
    settings.TRADING_MODE = "live"
    monkeypatch.setitem(services._exchanges, True, cb_exchange)
    cache.delete_many([services._DISPLAY_KEY, f"{services._DISPLAY_KEY}:lock"])
    client = Client()
    client.force_login(get_user_model().objects.create_user("watcher", password="a-long-test-password", is_staff=True))
    yield client
    cache.delete_many([services._DISPLAY_KEY, f"{services._DISPLAY_KEY}:lock"])


def _cash(client: Client) -> str:
    html = client.get(reverse("dashboard:portfolio_panel")).content.decode()
    return re.search(r'data-field="cash">([^<]+)<', html).group(1)


def test_many_polls_within_the_window_make_one_accounts_read(screen, fake_coinbase, cb_clock):
    for _ in range(25):  # five dashboards, five polls each
        assert _cash(screen) == "1,000.00"
    assert len(fake_coinbase.requests(ACCOUNTS)) == 1
    cb_clock.shift(services.DISPLAY_BALANCES_SECONDS + 1)
    fake_coinbase.state.available["USD"] = Decimal("750")
    assert _cash(screen) == "750.00"  # the next window reads again
    assert len(fake_coinbase.requests(ACCOUNTS)) == 2


def test_an_outage_keeps_the_last_balances_with_the_reason(screen, fake_coinbase, cb_clock):
    assert _cash(screen) == "1,000.00"
    fake_coinbase.faults.add(ACCOUNTS, "status", 503, times=None)
    cb_clock.shift(services.DISPLAY_BALANCES_SECONDS + 1)
    html = screen.get(reverse("dashboard:portfolio_panel")).content.decode()
    assert "balances unavailable" in html and "showing those read at" in html
    assert 'data-field="cash">1,000.00<' in html
    before = len(fake_coinbase.requests(ACCOUNTS))
    screen.get(reverse("dashboard:portfolio_panel"))
    assert len(fake_coinbase.requests(ACCOUNTS)) == before  # a failure waits out the window too


def test_never_read_and_unreachable_says_so_and_shows_no_cash(screen, fake_coinbase):
    fake_coinbase.faults.add(ACCOUNTS, "status", 503, times=None)
    html = screen.get(reverse("dashboard:portfolio_panel")).content.decode()
    assert "balances unavailable" in html and "showing those" not in html
    assert 'data-field="cash">0.00<' in html


def test_while_another_process_reads_the_screen_waits_for_it_not_coinbase(screen, fake_coinbase):
    cache.add(f"{services._DISPLAY_KEY}:lock", 1, 30)  # another web process is reading right now
    html = screen.get(reverse("dashboard:portfolio_panel")).content.decode()
    assert "balances loading" in html
    assert fake_coinbase.requests(ACCOUNTS) == []


def test_paper_balances_are_read_directly_and_are_always_current(screen, settings, fake_coinbase):
    settings.TRADING_MODE = "paper"
    paper_deposit("USD", Decimal("250"))
    assert _cash(screen) == "250.00"
    paper_deposit("USD", Decimal("250"))
    assert _cash(screen) == "500.00"  # no window in paper mode
    assert fake_coinbase.requests(ACCOUNTS) == []
