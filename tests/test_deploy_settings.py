"""Running beyond localhost: the HTTPS settings come from the environment and satisfy `check --deploy`.

The settings module is run afresh with the variables of docs/running-beyond-localhost.md,
and what it computes is applied to the running project (override_settings), so the
variables, not hand-picked values, are what is checked.
"""

from __future__ import annotations

import runpy
import secrets
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client, override_settings

SETTINGS_FILE = str(Path(__file__).resolve().parents[1] / "autotrader" / "settings.py")
BEHIND_TLS_PROXY = {
    "DJANGO_HTTPS": "true",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DJANGO_ALLOWED_HOSTS": "bots.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://bots.example.com",
    "DJANGO_DEBUG": "false",
}
HTTPS_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_AGE",
    "SILENCED_SYSTEM_CHECKS",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DEBUG",
)


def settings_from(monkeypatch, env: dict[str, str]) -> dict:
    """autotrader/settings.py run with these variables (and a production-grade key)."""
    for name in (*BEHIND_TLS_PROXY, "DJANGO_SECURE_HSTS_SECONDS", "DJANGO_SECURE_HSTS_PRELOAD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(SETTINGS_FILE)


def deploy_warnings(values: dict) -> list[str]:
    overrides = {name: values[name] for name in HTTPS_SETTINGS} | {"SECRET_KEY": values["SECRET_KEY"]}
    with override_settings(**overrides):
        return sorted(m.id for m in run_checks(include_deployment_checks=True) if not m.is_silenced())


def test_by_default_check_deploy_warns_about_https(monkeypatch):
    """What the issue found: without the variables, the four HTTPS warnings."""
    found = deploy_warnings(settings_from(monkeypatch, {"DJANGO_ALLOWED_HOSTS": "bots.example.com"}))
    assert found == ["security.W004", "security.W008", "security.W012", "security.W016"]


def test_behind_a_tls_proxy_check_deploy_is_clean(monkeypatch):
    values = settings_from(monkeypatch, BEHIND_TLS_PROXY)
    assert deploy_warnings(values) == []
    overrides = {name: values[name] for name in HTTPS_SETTINGS} | {"SECRET_KEY": values["SECRET_KEY"]}
    with override_settings(**overrides):
        call_command("check", deploy=True, fail_level="WARNING")  # what `manage.py check --deploy` says


def test_the_variables_set_what_the_docs_say(monkeypatch):
    values = settings_from(monkeypatch, BEHIND_TLS_PROXY | {"DJANGO_SECURE_HSTS_SECONDS": "3600"})
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] == 3600 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SESSION_COOKIE_AGE"] == 12 * 3600
    plain = settings_from(monkeypatch, {})
    assert not plain["SESSION_COOKIE_SECURE"] and plain["SECURE_HSTS_SECONDS"] == 0
    assert plain["SECURE_PROXY_SSL_HEADER"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("DJANGO_SECURE_PROXY_SSL_HEADER", "X Forwarded Proto"), ("DJANGO_HTTPS", "yes please"),
     ("DJANGO_SECURE_HSTS_SECONDS", "-1"), ("DJANGO_SESSION_COOKIE_AGE", "a day")],
)  # fmt: skip
def test_a_bad_value_stops_with_the_variables_name(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        settings_from(monkeypatch, {name: value})


@pytest.mark.django_db
def test_behind_the_proxy_cookies_are_secure_hsts_is_sent_and_plain_http_is_redirected(monkeypatch):
    from django.contrib.auth import get_user_model

    values = settings_from(monkeypatch, BEHIND_TLS_PROXY)
    get_user_model().objects.create_superuser("owner", password="a-long-owner-password")
    overrides = {name: values[name] for name in HTTPS_SETTINGS}
    with override_settings(**overrides):
        proxied = Client(HTTP_HOST="bots.example.com", HTTP_X_FORWARDED_PROTO="https")
        login = proxied.get("/admin/login/")
        assert login["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert "default-src 'self'" in login["Content-Security-Policy"]
        csrf = login.cookies["csrftoken"]
        assert csrf["secure"]
        response = proxied.post(
            "/admin/login/?next=/",
            {"username": "owner", "password": "a-long-owner-password", "csrfmiddlewaretoken": csrf.value},
            headers={"Referer": "https://bots.example.com/admin/login/"},
        )
        session = response.cookies["sessionid"]
        assert response.status_code == 302 and session["secure"] and session["httponly"]
        assert session["max-age"] == 12 * 3600
        plain = Client(HTTP_HOST="bots.example.com").get("/admin/login/")
        assert plain.status_code == 301 and plain["Location"] == "https://bots.example.com/admin/login/"
        probe = Client(HTTP_HOST="bots.example.com").get("/healthz")
        assert probe.status_code == 200  # the local liveness probe is not redirected
