"""Every dashboard page is served with a strict Content-Security-Policy and needs nothing it forbids.

No inline script, no event-handler attribute, no style attribute and no htmx
filter that htmx would have to eval: the browser tests (tests/browser/test_csp.py)
show the pages work under the policy, these check every page and partial.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.dashboard.test_access import _concrete, _dashboard_routes

pytestmark = pytest.mark.django_db
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"<[^>]+\sstyle\s*=|<style", re.I)
EVAL_FILTER = re.compile(r'hx-trigger="[^"]*\[')


def test_every_dashboard_page_and_partial_has_the_policy_and_nothing_it_forbids(client, demo):
    bot = demo[0]
    checked = 0
    for route, _callback in _dashboard_routes():
        if route.startswith(("api/", "admin/")) or route == "healthz":
            continue
        response = client.get(_concrete(route, bot.pk))
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        html = response.content.decode()
        for rule in (INLINE_SCRIPT, HANDLER, STYLE, EVAL_FILTER):
            assert not rule.search(html), (route, rule.pattern, rule.search(html))
        checked += 1
    assert checked >= 15  # pages and partials (the rest are JSON, POST-only or need a backtest run)


def test_htmx_is_told_not_to_eval_or_inject_styles(client, demo):
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false}'>""" in html


def test_the_chart_logo_hash_is_that_of_the_vendored_librarys_style():
    """The one inline style the policy allows is exactly the one the pinned chart library adds."""
    import base64
    import hashlib
    from pathlib import Path

    from django.conf import settings

    [library] = Path(settings.BASE_DIR, "static", "vendor", "lightweight-charts").glob("*/*.standalone.production.js")
    css = re.search(r'createElement\("style"\),this\.\w+\.innerText="([^"]*)"', library.read_text())[1]
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert settings.CHART_LOGO_STYLE == f"'sha256-{digest}'"
