"""The schema generates without a warning; the docs load nothing from outside; writes are throttled."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from autotrader.api.base import WriteThrottle


def test_the_schema_generates_and_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "autotrader API"


def test_the_live_schema_is_served_to_a_token(api):
    response = api.get("/api/schema?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/bots/{id}" in schema["paths"]
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    every = [op for path in schema["paths"].values() for op in path.values()]
    assert all({"401", "403"} <= set(op["responses"]) for op in every)


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/api/docs", "/api/redoc"])
def test_the_docs_pages_load_only_local_files(browser, url):
    response = browser.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert sources, html
    for source in sources:
        assert source.startswith(("/static/", "/api/")), source
    assert "//" not in "".join(sources)
    assert "googleapis" not in html and "cdn" not in html.lower()
    if url == "/api/docs":  # Swagger UI's start-up script is a file of its own (no inline script)
        assert "/api/docs?script=" in sources
        html = browser.get("/api/docs?script=").content.decode()
    assert "/api/schema" in html


def test_swagger_ui_is_told_not_to_call_the_online_validator(browser):
    script = browser.get("/api/docs?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert '"validatorUrl": null' in script.content.decode()


def test_the_docs_assets_exist_in_static_files():
    from django.contrib.staticfiles import finders

    for path in (
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
        "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
    ):
        assert finders.find(path), path


def test_writes_are_throttled_reads_are_not(api, traded_bot, monkeypatch):
    monkeypatch.setattr(WriteThrottle, "rate", "3/minute")
    url = f"/api/v1/bots/{traded_bot.pk}/start"
    assert [api.post(url).status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = api.post(url)
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["message"].startswith("Request was throttled")
    assert all(api.get(f"/api/v1/bots/{traded_bot.pk}").status_code == 200 for _ in range(10))


def test_a_method_the_endpoint_lacks_is_a_405_in_the_error_shape(api):
    response = api.delete("/api/v1/kill-switch")
    assert response.status_code == 405
    assert response.json() == {"message": 'Method "DELETE" not allowed.', "extra": {}}
