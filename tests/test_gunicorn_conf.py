"""The web server's settings come from the environment and refuse what they cannot use."""

from __future__ import annotations

import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured


def _load(monkeypatch, **env: str):
    for name in ("WEB_WORKERS", "WEB_THREADS", "WEB_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from autotrader import gunicorn_conf

    return importlib.reload(gunicorn_conf)


def test_defaults_are_four_single_threaded_processes(monkeypatch):
    conf = _load(monkeypatch)
    assert (conf.workers, conf.threads, conf.timeout) == (4, 1, 30)
    assert conf.control_socket_disable  # no socket shared with other instances on the host


def test_the_environment_sets_them(monkeypatch):
    conf = _load(monkeypatch, WEB_WORKERS="3", WEB_THREADS="8", WEB_TIMEOUT_SECONDS="60")
    assert (conf.workers, conf.threads, conf.timeout) == (3, 8, 60)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WEB_WORKERS", "four", "WEB_WORKERS must be an integer, got 'four'"),
        ("WEB_WORKERS", "0", "WEB_WORKERS must be at least 1, got 0"),
        ("WEB_THREADS", "-2", "WEB_THREADS must be at least 1, got -2"),
        ("WEB_TIMEOUT_SECONDS", "1", "WEB_TIMEOUT_SECONDS must be at least 5, got 1"),
    ],
)
def test_a_bad_value_is_refused_by_name(monkeypatch, name, value, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        _load(monkeypatch, **{name: value})
