"""An exchange error that quotes the request's Authorization header is redacted before it is stored.

The fake Coinbase refuses with a message naming the API key and quoting the
JWT it was sent (cut short, as error bodies are); the real SDK and adapter
carry it into the order's rejection and the bot's pause reason. Neither the
database nor any page, admin screen or API answer may hold a piece of it.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from bots.models import ActivityEvent, Bot
from market.models import Heartbeat
from trading.engine import bot_tick
from trading.live import live_preflight
from trading.models import Order

pytestmark = pytest.mark.django_db
WINDOW = 12  # no run of this many characters of the token may appear anywhere


def _leaks(text: str, fake, key_name: str) -> list[str]:
    """Every piece of a secret found in ``text``: the key's name, or any run of the echoed tokens."""
    found = [piece for piece in (key_name, "apiKeys", "organizations/") if piece in text]
    for echo in fake.echoes:
        token = echo.split("Bearer ", 1)[1].split("'", 1)[0]
        found.extend(token[i : i + WINDOW] for i in range(len(token) - WINDOW + 1) if token[i : i + WINDOW] in text)
    return found


@pytest.fixture
def refused(live_bot, live_market, cb_exchange, fake_coinbase, settings, coinbase_key):
    """A live bot whose order Coinbase refused, then whose start-up check failed, both quoting the JWT."""
    settings.TRADING_MODE = "live"
    bot = live_bot(score=1.0)
    fake_coinbase.faults.add("POST /orders", "echo-auth")
    bot_tick(bot.pk, market=live_market, exchange_for=lambda b: cb_exchange, now=live_market.now(), owner="test")
    fake_coinbase.faults.add("GET /key_permissions", "echo-auth", 400)
    live_preflight(exchange_for=lambda b: cb_exchange, market=live_market, now=live_market.now())
    # The fake really quoted the token and the key: the test would catch a leak.
    assert len(fake_coinbase.echoes) == 2
    assert all("Bearer eyJ" in echo and coinbase_key.name in echo for echo in fake_coinbase.echoes)
    bot.refresh_from_db()
    return bot


def test_the_rejection_and_the_pause_are_stored_without_the_token_or_the_key(refused, fake_coinbase, coinbase_key):
    order = Order.objects.get()
    assert order.status == "REJECTED" and "request refused for key" in order.reject_message
    assert refused.status == Bot.Status.PAUSED and "request refused for key" in refused.paused_reason
    for text in (order.reject_message, refused.paused_reason, order.reject_reason):
        assert _leaks(text, fake_coinbase, coinbase_key.name) == [], text
    assert "[REDACTED]" in order.reject_message and "[REDACTED]" in refused.paused_reason


def test_no_row_of_any_table_holds_a_piece_of_it(refused, fake_coinbase, coinbase_key):
    """Read every text column of every table back, as the database has it."""
    from django.apps import apps

    Heartbeat.objects.create(name="t", role="ticker", host="h", pid=1, beat_at=refused.created_at,
                             info={"error": fake_coinbase.echoes[0]})  # fmt: skip
    assert ActivityEvent.objects.filter(bot=refused, message__contains="request refused").exists()
    with connection.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            for row in cursor.fetchall():
                text = json.dumps([str(v) for v in row])
                assert _leaks(text, fake_coinbase, coinbase_key.name) == [], model


def test_no_page_admin_screen_or_api_answer_shows_a_piece_of_it(refused, fake_coinbase, coinbase_key):
    admin = get_user_model().objects.create_superuser("admin", password="a-long-admin-password")
    client = Client()
    client.force_login(admin)
    order = Order.objects.get()
    urls = [
        "/",
        "/partials/bot-cards/",
        "/partials/activity/",
        f"/bots/{refused.pk}/",
        f"/bots/{refused.pk}/partials/header/",
        f"/bots/{refused.pk}/partials/orders/",
        "/admin/bots/bot/",
        f"/admin/bots/bot/{refused.pk}/change/",
        "/admin/trading/order/",
        f"/admin/trading/order/{order.pk}/change/",
        "/admin/bots/activityevent/",
        "/api/v1/bots/",
        f"/api/v1/bots/{refused.pk}",
        "/api/v1/orders",
        f"/api/v1/orders/{order.pk}",
        "/api/v1/activity",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _leaks(response.content.decode(), fake_coinbase, coinbase_key.name) == [], url
    overview = client.get("/").content.decode()
    assert "request refused for key [REDACTED]" in overview  # the reason is still shown, minus the secret


def _key_pieces(pem: str) -> list[str]:
    """Every 16-character run of the private key's body, in its plain and escaped forms."""
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    return [body[i : i + 16] for i in range(0, len(body) - 15)]


def test_no_part_of_the_private_key_anywhere(refused, fake_coinbase, coinbase_key, coinbase_settings, market):
    """An error that pastes the key (cut short, escaped or not) is stored, shown and logged without any of it."""
    import io
    import logging

    from autotrader.logging import RedactingFormatter
    from bots.services import bot_pause

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        escaped = coinbase_key.pem.replace("\n", "\\n")
        bot_pause(bot=refused, reason=f"could not sign with {escaped[:150]}", at=market.now())
        ActivityEvent.objects.create(kind="error", message=f"key was {coinbase_key.pem[40:160]}", at=market.now())
    finally:
        logging.getLogger().removeHandler(handler)
    admin = get_user_model().objects.create_superuser("admin", password="a-long-admin-password")
    client = Client()
    client.force_login(admin)
    texts = {"log": stream.getvalue()}
    for url in ("/", f"/bots/{refused.pk}/", "/partials/activity/", "/admin/bots/bot/", "/admin/bots/activityevent/",
                "/api/v1/bots/", "/api/v1/activity", "/health/"):  # fmt: skip
        texts[url] = client.get(url).content.decode()
    with connection.cursor() as cursor:
        from django.apps import apps

        for model in apps.get_models():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")
            texts[model._meta.label] = json.dumps([[str(v) for v in row] for row in cursor.fetchall()])
    assert "could not sign with" in texts["bots.Bot"]
    for where, text in texts.items():
        assert "PRIVATE KEY" not in text, where
        assert [p for p in _key_pieces(coinbase_key.pem) if p in text] == [], where


def test_an_exchange_error_is_redacted_where_it_enters(coinbase_key):
    """The error text itself, before any log, row or command output sees it."""
    import requests

    from market.coinbase.client import translate

    response = requests.Response()
    response.status_code = 401
    response._content = json.dumps(
        {
            "error": "UNAUTHORIZED",
            "message": f"bad header Authorization: Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6 {coinbase_key.name}",
        }
    ).encode()
    error = translate(requests.HTTPError(response=response), what="key permissions")
    assert "eyJhbGci" not in str(error) and coinbase_key.name not in str(error)
    assert "HTTP 401" in str(error)
