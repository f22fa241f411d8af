"""Every dashboard page and partial needs a login; every change needs a CSRF token and a POST."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bots.models import Bot

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


# --- staff only, on every request ------------------------------------------------------
def _every_route(patterns=None, prefix: str = "") -> list[tuple[str, object]]:
    """Every URL pattern of the project, as (route, callback), from the urlconf itself."""
    from django.urls import URLResolver, get_resolver

    routes = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes.extend(_every_route(entry.url_patterns, route))
        else:
            routes.append((route, entry.callback))
    return routes


def _concrete(route: str, pk: int) -> str:
    """A real path for a route: ids become the demo bot's, other parts a plain word."""
    import re

    path = re.sub(r"<int:\w+>", str(pk), route)
    path = re.sub(r"<(?:str|slug|path):\w+>", "x", path)
    path = re.sub(r"<\w+>", "x", path)
    return "/" + path.lstrip("^").rstrip("$")


# Open to anyone: the liveness probe (no data), the admin's login page, and the API's catch-all
# 404 (it names nothing that exists). Everything else needs an active staff user.
PUBLIC = {"healthz", "admin/login/", "api/^"}


def _dashboard_routes() -> list[tuple[str, object]]:
    """The routes this project serves itself: everything but the admin's own (which checks staff itself)."""
    return [(r, cb) for r, cb in _every_route() if not r.startswith("admin/") or r == "admin/login/"]


@pytest.fixture
def demoted(trader, demo) -> Client:
    """A session that was opened while the user was staff; then the user was demoted."""
    client = Client()
    client.force_login(trader)
    assert client.get(reverse("dashboard:overview")).status_code == 200
    trader.is_staff = False
    trader.save()
    return client


def test_the_walk_finds_every_dashboard_page_partial_control_and_the_api():
    routes = {r for r, _ in _dashboard_routes()}
    assert len(routes) > 60
    for expected in ("", "partials/bot-cards/", "health/partials/log/", "kill-switch/change/", "bots/new/",
                     "bots/<int:pk>/start/", "market/chart/bot/<int:pk>/", "backtests/<int:pk>/chart/",
                     "api/v1/bots/", "api/docs", "api/redoc"):  # fmt: skip
        assert expected in routes, expected


def test_a_demoted_user_gets_no_page_partial_or_action_anywhere(demoted, demo):
    bot = demo[0]
    for route, _callback in _dashboard_routes():
        if route in PUBLIC:
            continue
        url = _concrete(route, bot.pk)
        for method in ("get", "post"):
            response = getattr(demoted, method)(url)
            # 403, or (the API's docs pages) the login page; never the page, never an action.
            location = response.get("Location", "")
            assert response.status_code == 403 or location.startswith("/admin/login/"), (method, url, response)


def test_a_demoted_user_cannot_engage_the_kill_switch_create_a_bot_or_switch_one_to_live(demoted, demo):
    from trading.services import kill_switch_engaged

    bot = demo[0]
    bots_before = Bot.objects.count()
    assert demoted.post(reverse("dashboard:kill_switch_change"), {"engaged": "on", "confirm": "on"}).status_code == 403
    assert demoted.post(reverse("dashboard:bot_new"), {"name": "Intruder", "product_id": "BTC-USD"}).status_code == 403
    edit = demoted.post(reverse("dashboard:bot_edit", args=[bot.pk]), {"name": bot.name, "live": "on"})
    assert edit.status_code == 403
    assert demoted.post(reverse("dashboard:bot_stop", args=[bot.pk])).status_code == 403
    bot.refresh_from_db()
    assert not kill_switch_engaged() and Bot.objects.count() == bots_before
    assert not bot.live and bot.status == Bot.Status.RUNNING


def test_a_demoted_user_cannot_read_the_log_tail_or_the_overview(demoted):
    for name in ("overview", "log_tail_panel", "health", "bot_cards_panel"):
        response = demoted.get(reverse(f"dashboard:{name}"))
        assert response.status_code == 403, name
        assert "staff" in response.content.decode() and 'id="bot-cards"' not in response.content.decode()


def test_an_htmx_poll_of_a_demoted_user_sends_the_whole_page_to_the_login(demoted, demo):
    response = demoted.get(
        reverse("dashboard:bot_cards_panel"),
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/bots/{demo[0].pk}/"},
    )
    assert response.status_code == 403
    assert response["HX-Redirect"] == f"/admin/login/?next=/bots/{demo[0].pk}/"
    assert b"bot-card" not in response.content


def test_a_deactivated_user_is_sent_to_the_login(trader, demo):
    client = Client()
    client.force_login(trader)
    trader.is_active = False
    trader.save()
    response = client.get(reverse("dashboard:overview"))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_demoted_user_gets_nothing_from_the_admin_either(demoted, demo):
    for url in ("/admin/", f"/admin/bots/bot/{demo[0].pk}/change/", "/admin/trading/order/"):
        response = demoted.get(url)
        assert response.status_code == 403 or response["Location"].startswith("/admin/login/"), url


def test_the_open_routes_give_nothing_away(demo):
    anonymous = Client()
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/api/v1/no-such-thing").status_code == 404
    assert anonymous.get("/admin/login/").status_code == 200


def test_a_forged_or_foreign_csrf_token_is_refused(trader, demo):
    from trading.services import kill_switch_engaged

    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)
    client.get(reverse("dashboard:overview"))  # the real token is in the cookie now
    forged = "x" * 64
    form = {"engaged": "on", "confirm": "on", "csrfmiddlewaretoken": forged}
    assert client.post(reverse("dashboard:kill_switch_change"), form).status_code == 403
    stolen = Client(enforce_csrf_checks=True)  # another browser's token is no good here either
    stolen.get("/admin/login/")
    form["csrfmiddlewaretoken"] = stolen.cookies["csrftoken"].value
    assert client.post(reverse("dashboard:kill_switch_change"), form).status_code == 403
    assert not kill_switch_engaged()


def test_a_cross_site_post_over_https_is_refused_even_with_the_token(trader, demo, settings):
    """Over HTTPS Django also checks where the post came from: a page on another site is refused."""
    from trading.services import kill_switch_engaged

    settings.ALLOWED_HOSTS = ["bots.example.com"]
    client = Client(enforce_csrf_checks=True, HTTP_HOST="bots.example.com")
    client.force_login(trader)
    page = client.get(reverse("dashboard:kill_switch"), secure=True)
    token = page.context["csrf_token"]
    form = {"engaged": "on", "confirm": "on", "csrfmiddlewaretoken": str(token)}
    url = reverse("dashboard:kill_switch_change")
    evil = client.post(url, form, secure=True, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and not kill_switch_engaged()
    same_site = client.post(url, form, secure=True, headers={"Origin": "https://bots.example.com"})
    assert same_site.status_code in (200, 204, 302) and kill_switch_engaged()
