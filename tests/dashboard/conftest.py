"""Fixtures for the dashboard's view tests: a logged-in trader and the demo bots."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from bots.models import Bot


@pytest.fixture
def trader(db):
    return get_user_model().objects.create_user("trader", password="a-long-test-password", is_staff=True)


@pytest.fixture
def client(trader) -> Client:
    client = Client()
    client.force_login(trader)
    return client


@pytest.fixture
def htmx(client):
    """GET as htmx does: the partial request header and the page it came from."""

    def get(url: str, **kwargs):
        return client.get(url, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/"}, **kwargs)

    return get


@pytest.fixture
def demo(market, clock) -> list[Bot]:
    """The two demo bots (running) and the 1,000 USD paper wallet."""
    call_command("seed_demo", verbosity=0)
    return list(Bot.objects.order_by("name"))
