"""Cards and feed rows are rendered once per distinct state and reused across requests and users."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from bots.models import ActivityEvent, Bot
from bots.services import activity_record
from trading import fragments

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _cold_caches():
    fragments.cache_clear()
    yield
    fragments.cache_clear()


def _cards(client: Client) -> str:
    return client.get(reverse("dashboard:bot_cards_panel")).content.decode()


def test_an_unchanged_card_is_rendered_once_for_every_poll_and_every_user(client, demo):
    first = _cards(client)
    misses = fragments.cache_info()["cards"].misses
    assert misses == len(demo)
    other = Client()
    other.force_login(get_user_model().objects.create_user("second", password="another-long-password", is_staff=True))
    second = _cards(client) + _cards(other)
    assert fragments.cache_info()["cards"].misses == misses  # served from the cache
    for bot in demo:
        assert f'id="bot-card-{bot.pk}"' in first and f'id="bot-card-{bot.pk}"' in second


def test_a_changed_value_is_a_new_card_not_a_stale_one(client, demo):
    bot = demo[0]
    Bot.objects.filter(pk=bot.pk).update(last_price="12345.67")
    assert "12,345.67" in _cards(client)
    Bot.objects.filter(pk=bot.pk).update(last_price="23456.78", name="Renamed Scalper")
    html = _cards(client)
    assert "23,456.78" in html and "12,345.67" not in html
    assert "Renamed Scalper" in html


def test_each_request_gets_its_own_csrf_token_and_the_form_accepts_it(trader, demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)
    html = _cards(client)
    tokens = TOKEN.findall(html)
    assert len(tokens) == len(demo) and "<csrf-slot>" not in html
    bot = demo[0]
    response = client.post(reverse("dashboard:bot_stop", args=[bot.pk]), {"csrfmiddlewaretoken": tokens[0]})
    assert response.status_code in (200, 204, 302)
    bot.refresh_from_db()
    assert bot.status == Bot.Status.STOPPED
    # Without the token the same form is refused: the slot really carried the token.
    refused = Client(enforce_csrf_checks=True)
    refused.force_login(trader)
    assert refused.post(reverse("dashboard:bot_start", args=[bot.pk])).status_code == 403


def test_a_bot_named_like_the_slot_is_escaped_not_filled_with_the_token(client, demo):
    Bot.objects.filter(pk=demo[0].pk).update(name="<csrf-slot>")
    html = _cards(client)
    assert "&lt;csrf-slot&gt;" in html
    assert len(TOKEN.findall(html)) == len(demo)


def test_feed_rows_are_escaped_marked_by_side_and_rendered_once(client, htmx, demo, clock):
    activity_record(kind="fill", message="<b>bought</b> 0.01 BTC", bot=demo[0], at=clock.now(), data={"side": "BUY"})
    html = htmx(reverse("dashboard:activity_panel")).content.decode()
    assert "&lt;b&gt;bought&lt;/b&gt; 0.01 BTC" in html and "<b>bought" not in html
    assert "side-BUY" in html
    misses = fragments.cache_info()["rows"].misses
    assert misses == ActivityEvent.objects.count()
    clock.advance(timedelta(seconds=5))
    activity_record(kind="skip", message="a newer event", bot=demo[0], at=clock.now())
    html = htmx(reverse("dashboard:activity_panel")).content.decode()
    assert html.index("a newer event") < html.index("bought")  # newest first
    assert fragments.cache_info()["rows"].misses == misses + 1  # only the new row was rendered


def test_an_empty_feed_and_no_bots_say_so(client, htmx, db):
    assert "No bots yet" in _cards(client)
    assert "Nothing has happened yet" in htmx(reverse("dashboard:activity_panel")).content.decode()
