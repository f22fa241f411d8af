"""The Content-Security-Policy in a real browser: every page loads and works under it, and breaks none of its rules.

Chromium reports each blocked script, style, eval, worker or image on the
console ("Refused to ...", "violates the following Content Security Policy
directive"); the pages below must load, work, and report none.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bots.models import Bot
from bots.services import activity_record

pytestmark = pytest.mark.browser
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"><svg onload="window.__xss=3">'


@pytest.fixture
def violations(page) -> list[str]:
    """Every CSP violation the page reports, with the page it happened on."""
    found: list[str] = []

    def on_console(msg) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            found.append(f"{page.url}: {msg.text}")

    page.on("console", on_console)
    page.add_init_script(
        """document.addEventListener('securitypolicyviolation', e =>
            console.error('Refused to (CSP event) ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample));"""
    )
    return found


def _leave(page) -> None:
    """Stop polling and let the requests in flight finish, so the database is free to be flushed."""
    page.goto("about:blank")
    page.wait_for_timeout(1000)


def _strict(response) -> str:
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, f"no strict policy on {response.url}: {policy!r}"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy
    return policy


def test_dashboard_and_admin_pages_load_under_the_strict_policy(page, live_server, demo, violations):
    bot = demo[0]
    for path in ("/", f"/bots/{bot.pk}/", f"/bots/{bot.pk}/edit/", "/bots/new/", "/health/", "/kill-switch/",
                 "/backtests/", "/backtests/new/", "/admin/", "/admin/bots/bot/", f"/admin/bots/bot/{bot.pk}/change/",
                 "/admin/axes/accessattempt/"):  # fmt: skip
        _strict(page.goto(live_server.url + path))
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/bots/{bot.pk}/")
    expect(page.locator("#chart")).to_have_attribute("data-state", "ready")
    expect(page.locator("#tv-attr-logo")).to_be_visible()  # the chart's attribution, styled by its hashed rules
    page.wait_for_timeout(6000)  # every panel polls once
    _leave(page)
    assert violations == [], "\n".join(violations)


def test_the_gauge_sits_where_the_score_is_without_inline_styles(page, live_server, demo):
    bot = demo[0]
    Bot.objects.filter(pk=bot.pk).update(last_score=0.5, buy_threshold=0.3, sell_threshold=-0.3)
    page.goto(live_server.url + "/")
    gauge = page.locator(f"#bot-card-{bot.pk} .gauge")
    box = gauge.bounding_box()
    marker = gauge.locator(".gauge-marker").bounding_box()
    centre = (marker["x"] + marker["width"] / 2 - box["x"]) / box["width"]
    assert abs(centre - 0.75) < 0.01, centre  # +0.5 on a -1..+1 scale
    tick = gauge.locator(".gauge-tick.buy").bounding_box()
    assert abs((tick["x"] - box["x"]) / box["width"] - 0.65) < 0.01


def test_polling_pauses_while_the_tab_is_hidden_and_resumes_when_it_shows(page, live_server, demo):
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/partials/" in r.url else None)
    page.goto(live_server.url + "/")
    page.evaluate("Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true})")
    page.wait_for_timeout(500)
    polls.clear()
    page.wait_for_timeout(6000)
    assert polls == []  # a hidden tab asks nothing
    page.evaluate(
        """() => { Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
                   document.dispatchEvent(new Event('visibilitychange')); }"""
    )
    page.wait_for_timeout(1000)
    assert any("/partials/bot-cards/" in url for url in polls)  # refreshed at once on showing
    _leave(page)


def test_swagger_ui_loads_and_calls_the_api_under_the_policy(page, live_server, demo, violations):
    _strict(page.goto(live_server.url + "/api/docs"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("autotrader API", timeout=20_000)
    operation = page.locator(".opblock-get", has_text="/api/v1/bots/").first
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    assert violations == [], "\n".join(violations)


def test_redoc_loads_under_its_policy_and_asks_no_other_host(page, live_server, violations):
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((live_server.url, "blob:")) else None)
    policy = page.goto(live_server.url + "/api/redoc").headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "'nonce-" in policy, policy
    expect(page.locator("h1")).to_contain_text("autotrader API", timeout=20_000)  # ReDoc renders the whole schema first
    expect(page.get_by_text("/api/v1/bots/").first).to_be_attached()
    page.get_by_placeholder("Search...").fill("kill")
    expect(page.locator("[data-role='search:results'] li").first).to_be_visible()  # searched by its worker
    page.wait_for_load_state("networkidle")
    assert violations == [], "\n".join(violations)
    assert elsewhere == []


def test_xss_payloads_in_names_and_exchange_texts_do_not_run(page, live_server, demo, market, violations):
    bot = demo[0]
    Bot.objects.filter(pk=bot.pk).update(name=XSS, status="paused", paused_reason=XSS, last_skip_reason=XSS)
    activity_record(kind="error", message=f"exchange said {XSS}", bot=bot, at=market.now())
    for path in ("/", f"/bots/{bot.pk}/", "/admin/bots/bot/", f"/admin/bots/bot/{bot.pk}/change/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, path
    page.goto(live_server.url + "/")
    expect(page.locator(f"#bot-card-{bot.pk}")).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(page.locator("#activity-panel")).to_contain_text("<script>window.__xss=2</script>")
    page.wait_for_timeout(6000)  # and after the panels re-render by polling
    assert page.evaluate("window.__xss") is None
    _leave(page)
    assert violations == [], "\n".join(violations)  # escaped, so the policy had nothing to block
