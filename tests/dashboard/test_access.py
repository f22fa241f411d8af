"""Every dashboard page and partial needs a login; every change needs a CSRF token and a POST."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["overview", "health", "kill_switch", "bot_new", "backtest_list", "backtest_new"]
PARTIALS = ["portfolio_panel", "bot_cards_panel", "activity_panel", "status_bar", "health_panel", "log_tail_panel"]
BOT_PAGES = [
    "bot_detail",
    "bot_edit",
    "bot_header_panel",
    "bot_signals_panel",
    "bot_confirmations_panel",
    "bot_orders_panel",
    "bot_chart",
]
BOT_CONTROLS = ["bot_start", "bot_stop", "bot_evaluate", "bot_reset_confirmation"]


def _urls(bot_id: int) -> list[str]:
    return [reverse(f"dashboard:{name}") for name in PAGES + PARTIALS] + [
        reverse(f"dashboard:{name}", args=[bot_id]) for name in BOT_PAGES
    ]


def test_every_page_and_partial_redirects_to_the_login_without_a_session(demo):
    anonymous = Client()
    for url in _urls(demo[0].pk):
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next="), url


def test_an_htmx_poll_without_a_session_sends_the_whole_page_to_the_login(demo):
    response = Client().get(
        reverse("dashboard:bot_cards_panel"),
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/bots/{demo[0].pk}/"},
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == f"/admin/login/?next=/bots/{demo[0].pk}/"


def test_every_page_and_partial_answers_a_logged_in_trader(client, demo):
    for url in _urls(demo[0].pk):
        assert client.get(url).status_code == 200, url


def test_controls_and_the_kill_switch_need_a_login(demo):
    anonymous = Client()
    urls = [reverse(f"dashboard:{name}", args=[demo[0].pk]) for name in BOT_CONTROLS]
    for url in [*urls, reverse("dashboard:kill_switch_change")]:
        response = anonymous.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


def test_a_change_without_the_csrf_token_is_refused(trader, demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)
    bot = demo[0]
    for name in BOT_CONTROLS:
        assert client.post(reverse(f"dashboard:{name}", args=[bot.pk])).status_code == 403, name
    assert client.post(reverse("dashboard:kill_switch_change"), {"engaged": "on", "confirm": "on"}).status_code == 403
    assert client.post(reverse("dashboard:bot_new"), {"name": "x"}).status_code == 403
    assert client.post(reverse("dashboard:backtest_new"), {"bot": bot.pk}).status_code == 403
    bot.refresh_from_db()
    assert bot.status == "running"


def test_a_change_with_the_token_in_the_htmx_header_goes_through(trader, demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)
    page = client.get(reverse("dashboard:overview"))
    token = page.context["csrf_token"]
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page.content.decode()
    response = client.post(
        reverse("dashboard:bot_stop", args=[demo[0].pk]), headers={"X-CSRFToken": str(token), "HX-Request": "true"}
    )
    assert response.status_code == 204
    demo[0].refresh_from_db()
    assert demo[0].status == "stopped"


def test_read_views_refuse_post_and_controls_refuse_get(client, demo):
    for url in _urls(demo[0].pk):
        if url.endswith(("/new/", "/edit/")):
            continue  # the bot form takes both
        assert client.post(url).status_code == 405, url
    for name in BOT_CONTROLS:
        assert client.get(reverse(f"dashboard:{name}", args=[demo[0].pk])).status_code == 405, name
    assert client.get(reverse("dashboard:kill_switch_change")).status_code == 405


def test_pages_serve_htmx_from_the_project_and_nothing_from_elsewhere(client, demo):
    for url in [reverse("dashboard:overview"), reverse("dashboard:bot_detail", args=[demo[0].pk])]:
        html = client.get(url).content.decode()
        assert "/static/django_htmx/htmx-2.min.js" in html
        assert "https://" not in html
        assert "//cdn" not in html and "fonts.googleapis" not in html
