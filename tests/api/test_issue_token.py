"""manage.py issue_token: the token scripts use."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_the_token_it_prints_opens_the_api(user, market):
    key = issue("trader")
    assert Token.objects.get(user=user).key == key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/bots/").status_code == 200


def test_it_is_idempotent_until_rotated(user):
    first = issue("trader")
    assert issue("trader") == first
    rotated = issue("trader", "--rotate")
    assert rotated != first
    assert list(Token.objects.values_list("key", flat=True)) == [rotated]


def test_revoke(user):
    issue("trader")
    assert issue("trader", "--revoke") == ""
    assert not Token.objects.exists()


def test_unknown_inactive_or_non_staff_users_get_no_token(user):
    with pytest.raises(CommandError, match="no user 'nobody'"):
        issue("nobody")
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="not an active staff user"):
        issue("trader")
    user.is_active, user.is_staff = True, False
    user.save()
    with pytest.raises(CommandError, match="not an active staff user"):
        issue("trader")
