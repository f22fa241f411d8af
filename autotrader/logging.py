"""Log redaction: no credential, private key or JWT reaches a log line.

Every handler the project configures formats through ``RedactingFormatter``,
which scrubs the finished line (message, arguments and traceback alike):
JWTs, bearer tokens, PEM private keys, and the exact values of the secret
environment variables, including a secret's escaped-newline form.
"""

from __future__ import annotations

import logging
import os
import re

REDACTED = "[REDACTED]"
SECRET_ENV_VARS = ("COINBASE_API_KEY", "COINBASE_API_SECRET", "DJANGO_SECRET_KEY", "ADMIN_PASSWORD")
_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL),
    re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"),  # JWT
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r'(?i)("?(?:api_secret|private_?key|secret|password|token)"?\s*[:=]\s*)("[^"]*"|\'[^\']*\'|\S+)'),
)


def _secret_values() -> list[str]:
    values: list[str] = []
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name, "")
        if len(value) >= 8:
            values.append(value)
            unescaped = value.replace("\\n", "\n")
            if unescaped != value:
                values.append(unescaped)
            # A PEM's body lines, in case one is logged on its own.
            values.extend(line for line in unescaped.splitlines() if len(line) >= 16 and "-----" not in line)
    return sorted(set(values), key=len, reverse=True)


def redact(text: str) -> str:
    """Scrub secrets out of ``text``."""
    for value in _secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    for i, pattern in enumerate(_PATTERNS):
        if i >= 2:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


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
