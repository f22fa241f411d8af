"""Login throttling (django-axes): wrong passwords lock a username out from an address for a while."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory

from autotrader.access import client_ip

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-long-password"
LOGIN = "/admin/login/?next=/"


@pytest.fixture
def owner():
    return get_user_model().objects.create_superuser("owner", password=PASSWORD)


def _login(client: Client, password: str, username: str = "owner", **extra) -> int:
    return client.post(LOGIN, {"username": username, "password": password}, **extra).status_code


def _signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_wrong_passwords_lock_the_user_out_and_the_right_one_is_then_refused(owner, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "guess") == 200  # the form again, with its error
    assert _login(client, "guess") == 429
    response = client.post(LOGIN, {"username": "owner", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not _signed_in(client)


def test_the_lockout_ends_a_cool_off_after_the_last_attempt(owner, settings):
    client = Client()
    with time_machine.travel("2026-06-01 12:00Z", tick=False) as traveller:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            _login(client, "guess")
        traveller.shift(settings.AXES_COOLOFF_TIME - timedelta(seconds=30))
        assert _login(client, PASSWORD) == 429  # still locked; and an attempt now restarts the wait
        traveller.shift(timedelta(minutes=1))
        assert _login(client, PASSWORD) == 429
        traveller.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        assert _login(client, PASSWORD) == 302
        assert _signed_in(client)


def test_the_lockout_holds_one_username_from_one_address_only(owner, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, "guess")
    assert _login(attacker, PASSWORD) == 429
    owner_elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert _login(owner_elsewhere, PASSWORD) == 302 and _signed_in(owner_elsewhere)


def test_lockouts_are_listed_in_the_admin_and_axes_reset_lifts_them(owner, settings):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, "guess")
    admin = Client()
    admin.force_login(owner)
    listing = admin.get("/admin/axes/accessattempt/").content.decode()
    assert "owner" in listing and "203.0.113.9" in listing
    assert "203.0.113.9" in admin.get("/admin/axes/accessfailurelog/").content.decode()
    call_command("axes_reset_username", "owner", stdout=StringIO())
    assert _login(attacker, PASSWORD) == 302


def test_behind_a_proxy_the_caller_is_the_address_the_proxy_saw(settings):
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.9")
    settings.DJANGO_PROXY_COUNT = 0
    assert client_ip(request) == "127.0.0.1"  # no proxy trusted: the header is the caller's word
    settings.DJANGO_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.9"  # the proxy's entry, not what the caller wrote before it
    assert client_ip(factory.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"  # a local probe, no proxy


def test_behind_a_proxy_each_caller_has_its_own_lockout(owner, settings):
    settings.DJANGO_PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, "guess")
    assert _login(attacker, PASSWORD) == 429
    owner_via_proxy = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert _login(owner_via_proxy, PASSWORD) == 302
