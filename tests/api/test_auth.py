"""Every endpoint needs a signed-in user (token or session); nothing leaks to anyone else."""

from __future__ import annotations

from io import StringIO

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = []
    for path, item in schema["paths"].items():
        url = path.replace("{id}", "1").replace("{product_id}", "BTC-USD")
        ops.extend((method.upper(), url) for method in item if method in {"get", "post", "put", "patch", "delete"})
    return sorted(ops)


OPERATIONS = _operations()


def test_the_schema_lists_every_endpoint_of_the_issue():
    paths = {url for _, url in OPERATIONS}
    assert len(OPERATIONS) >= 33
    for expected in (
        "/api/v1/bots/",
        "/api/v1/bots/1",
        "/api/v1/bots/1/start",
        "/api/v1/bots/1/stop",
        "/api/v1/bots/1/confirmation-status",
        "/api/v1/bot-evaluation/1/evaluate",
        "/api/v1/bot-evaluation/test/1",
        "/api/v1/bot-temperatures/",
        "/api/v1/bot-temperatures/dashboard",
        "/api/v1/bot-temperatures/1",
        "/api/v1/market/products",
        "/api/v1/market/ticker/BTC-USD",
        "/api/v1/market/candles/BTC-USD",
        "/api/v1/market/accounts",
        "/api/v1/trades",
        "/api/v1/ws/websocket/start",
        "/api/v1/ws/websocket/stop",
        "/api/v1/ws/websocket/status",
        "/api/v1/orders",
        "/api/v1/positions",
        "/api/v1/activity",
        "/api/v1/kill-switch",
        "/api/v1/market/cache-stats",
        "/api/v1/system/health",
        "/api/v1/backtests",
        "/api/v1/backtests/1",
    ):
        assert expected in paths


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_anonymous_gets_401_and_no_data(anon, method, url):
    response = anon.generic(method, url, data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"message": "Authentication credentials were not provided.", "extra": {}}


def test_a_wrong_token_is_refused(anon, traded_bot):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anon.get("/api/v1/bots/")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token."


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
def test_a_token_of_a_user_who_is_not_staff_gets_403_on_every_operation(api, user, method, url):
    user.is_staff = False
    user.save()
    response = api.generic(method, url, data="{}", content_type="application/json")
    assert response.status_code == 403, (method, url)
    assert response.json()["message"] == "You do not have permission to perform this action."


def test_a_revoked_or_rotated_token_is_refused(anon, user, traded_bot):
    from django.core.management import call_command

    old = Token.objects.create(user=user).key
    call_command("issue_token", "trader", "--rotate", stdout=StringIO())
    anon.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert anon.get("/api/v1/bots/").status_code == 401
    new = Token.objects.get(user=user).key
    anon.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert anon.get("/api/v1/bots/").status_code == 200
    call_command("issue_token", "trader", "--revoke", stdout=StringIO())
    response = anon.get("/api/v1/bots/")
    assert response.status_code == 401 and response.json()["message"] == "Invalid token."


def test_an_inactive_user_is_refused(api, user, traded_bot):
    user.is_active = False
    user.save()
    assert api.get("/api/v1/bots/").status_code == 401


def test_a_user_who_is_not_staff_gets_403_and_no_data(api, user, traded_bot):
    user.is_staff = False
    user.save()
    response = api.get("/api/v1/bots/")
    assert response.status_code == 403
    assert response.json() == {"message": "You do not have permission to perform this action.", "extra": {}}


def test_a_browser_session_can_read(user, traded_bot):
    client = Client()
    client.force_login(user)
    response = client.get("/api/v1/bots/")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_session_write_needs_the_csrf_token(user, traded_bot):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/v1/kill-switch", {"engaged": True}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


def test_the_liveness_probe_stays_open(anon):
    assert anon.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("url", ["/api/schema", "/api/schema?format=json"])
def test_the_schema_needs_a_login(anon, url):
    assert anon.get(url).status_code == 401


@pytest.mark.parametrize("url", ["/api/docs", "/api/redoc"])
def test_the_docs_pages_send_a_stranger_to_the_login_page(anon, url):
    response = anon.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url}"


def test_the_docs_pages_send_a_user_who_is_not_staff_to_the_login_page(user):
    user.is_staff = False
    user.save()
    client = Client()
    client.force_login(user)
    assert client.get("/api/docs")["Location"] == "/admin/login/?next=/api/docs"
