"""Fixtures for the API tests: a user, a token client, an anonymous client."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="trader", password="a-long-password")


@pytest.fixture
def token(user) -> Token:
    return Token.objects.create(user=user)


@pytest.fixture
def api(token, market) -> APIClient:
    """A client authenticated by token, on the simulated market of tests/conftest.py."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def anon(db) -> APIClient:
    return APIClient()


@pytest.fixture
def fuzz_world(make_bot, wallet):
    """A bot that has traded (order, fill, position) and one that has not, for the fuzzer to find."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    # The fuzzer calls the real WSGI handler, which would close the test's
    # connection at the end of each request (as Django's test client avoids).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
