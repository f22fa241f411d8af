"""Redaction: no credential, private key or JWT reaches a log line, a stored text or a page.

``redact`` is the one place that knows what a secret looks like. Every handler
the project configures formats through ``RedactingFormatter``, which scrubs the
finished line (message, arguments and traceback alike); the model fields of
``autotrader.fields`` run the same function on every text they store, so an
exchange's error that quotes a request is scrubbed before it reaches the
database, and from there a page, the admin or the API.

What it removes: PEM private keys (also cut short), JWTs (also cut short: a
JWT's header is base64 JSON, so it starts with ``eyJ``), bearer tokens,
``Authorization`` headers quoted back, CDP API key names
(``organizations/…/apiKeys/…``), ``secret=…``-style pairs, and the secrets
the process holds: the secret environment variables and every credential
``remember_secret`` was given (the Coinbase key once loaded, from whichever
source), whole or cut short at the end of the text, and a private key's
material in any piece of 16 characters or more.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from typing import Any

REDACTED = "[REDACTED]"
SECRET_ENV_VARS = ("COINBASE_API_KEY", "COINBASE_API_SECRET", "DJANGO_SECRET_KEY", "ADMIN_PASSWORD")
_NOT_DONE = rf"(?!{re.escape(REDACTED)})"  # so that redacting twice changes nothing
_KEEP_LABEL: Callable[[re.Match[str]], str] = lambda m: m.group(1) + REDACTED  # noqa: E731
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str], ...] = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL), REDACTED),
    # An Authorization header quoted back (any scheme), as "Authorization: …" or "'Authorization': '…'".
    (
        re.compile(
            rf"(?i)(authorization[\"']?\s*[:=]\s*[\"']?){_NOT_DONE}(?:(?:bearer|basic|token|digest)\s+)?"
            r"[^\s\"',;}]+"
        ),
        _KEEP_LABEL,
    ),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), _KEEP_LABEL),
    # JWTs, whole or cut short anywhere.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}"), REDACTED),
    # A JWT's payload and signature without its header: two long base64url runs joined by a dot.
    (re.compile(r"\b[A-Za-z0-9_-]{24,}\.[A-Za-z0-9_-]{24,}"), REDACTED),
    # CDP API key names, whole or in part.
    (re.compile(r"organizations/[^\s\"'/]*(?:/apiKeys/[^\s\"',;})\]]*)?|apiKeys/[^\s\"',;})\]]+"), REDACTED),
    (
        re.compile(
            rf'(?i)("?(?:api_secret|private_?key|secret|password|token)"?\s*[:=]\s*){_NOT_DONE}'
            r"(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        _KEEP_LABEL,
    ),
)
_REMEMBERED: set[str] = set()
_TAIL_MIN = 8  # the shortest end of a secret that counts as the secret cut short


def remember_secret(*values: str) -> None:
    """Redact these exact values from now on (a credential loaded from a file or from settings)."""
    _REMEMBERED.update(v for v in values if v and len(v) >= _TAIL_MIN)


def _secret_values() -> list[str]:
    values: list[str] = []
    for raw in [os.environ.get(name, "") for name in SECRET_ENV_VARS] + list(_REMEMBERED):
        if len(raw) >= _TAIL_MIN:
            values.append(raw)
            unescaped = raw.replace("\\n", "\n")
            if unescaped != raw:
                values.append(unescaped)
    return sorted(set(values), key=len, reverse=True)


# Key material (a PEM's base64 body, a base64 Ed25519 key) is caught in any piece of WINDOW
# characters or more, wherever it is cut and however its lines are joined (newlines, "\n", none).
_WINDOW = 16
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]+(?:(?:\\n|\r?\n)[A-Za-z0-9+/=]+)*")  # lines joined as in a PEM
_BASE64_BODY = re.compile(r"[A-Za-z0-9+/=]{32,}")


@functools.lru_cache(maxsize=8)
def _key_windows(values: tuple[str, ...]) -> frozenset[str]:
    """Every WINDOW-long piece of the key material among ``values`` (the same few secrets every call)."""
    windows: set[str] = set()
    for value in values:
        body = "".join(line for line in value.replace("\\n", "\n").splitlines() if "-----" not in line)
        body = "".join(body.split())
        if _BASE64_BODY.fullmatch(body):
            windows.update(body[i : i + _WINDOW] for i in range(len(body) - _WINDOW + 1))
    return frozenset(windows)


def _without_key_pieces(text: str, windows: frozenset[str]) -> str:
    def scrub(match: re.Match[str]) -> str:
        run = re.sub(r"\\n|\s", "", match.group(0))
        if any(run[i : i + _WINDOW] in windows for i in range(len(run) - _WINDOW + 1)):
            return REDACTED
        return match.group(0)

    return _BASE64_RUN.sub(scrub, text)


def redact(text: str) -> str:
    """Scrub secrets out of ``text``; redacting an already redacted text changes nothing."""
    values = _secret_values()
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
        start = text.rfind(value[:_TAIL_MIN])
        if start != -1 and value.startswith(text[start:]):  # the text ends inside the secret
            text = text[:start] + REDACTED
    windows = _key_windows(tuple(values))
    if windows:
        text = _without_key_pieces(text, windows)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redacted(value: Any) -> Any:
    """``value`` with every string in it (dict keys and values, list items) scrubbed of secrets."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redacted(k): redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


class RedactingFormatter(logging.Formatter):
    """A Formatter that redacts the whole formatted record, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _RedactingWrapper(RedactingFormatter):
    """Wraps a formatter someone else configured, keeping its style."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def install_redaction() -> None:
    """Put redaction on every handler already attached anywhere (third-party loggers too)."""
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict) if isinstance(name, str)
    ]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not isinstance(handler.formatter, RedactingFormatter):
                handler.setFormatter(_RedactingWrapper(handler.formatter))
