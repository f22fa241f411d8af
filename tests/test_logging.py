"""No credential, private key or JWT reaches a log line."""

from __future__ import annotations

import io
import logging

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from autotrader.logging import REDACTED, RedactingFormatter, install_redaction, redact


@pytest.fixture
def pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


def test_env_secret_is_redacted_in_message_and_args(capture, monkeypatch, pem):
    logger, stream = capture
    escaped = pem.replace("\n", "\\n")
    monkeypatch.setenv("COINBASE_API_SECRET", escaped)
    monkeypatch.setenv("COINBASE_API_KEY", "organizations/abc/apiKeys/key-123456")
    logger.info("loaded key %s with secret %s", "organizations/abc/apiKeys/key-123456", pem)
    logger.info("escaped form: %s", escaped)
    out = stream.getvalue()
    assert "key-123456" not in out
    assert "PRIVATE KEY" not in out
    for line in pem.splitlines()[1:-1]:
        assert line not in out
    assert out.count(REDACTED) >= 3


def test_jwt_and_bearer_header_are_redacted(capture, pem):
    logger, stream = capture
    token = jwt.encode({"sub": "k", "iss": "cdp"}, pem, algorithm="ES256")
    logger.error("request failed: headers={'Authorization': 'Bearer %s'}", token)
    logger.error("token alone %s", token)
    out = stream.getvalue()
    assert token not in out
    assert token.split(".")[2] not in out


def test_traceback_is_redacted(capture, monkeypatch):
    logger, stream = capture
    monkeypatch.setenv("COINBASE_API_SECRET", "super-secret-value-123")
    try:
        raise RuntimeError("could not sign with super-secret-value-123")
    except RuntimeError:
        logger.exception("signing failed")
    out = stream.getvalue()
    assert "super-secret-value-123" not in out
    assert "RuntimeError" in out


def test_key_value_pairs_are_redacted():
    assert redact('{"api_secret": "abc", "price": "1"}') == '{"api_secret": ' + REDACTED + ', "price": "1"}'
    assert redact("password=hunter2 user=bob") == f"password={REDACTED} user=bob"


def test_ordinary_lines_are_untouched():
    line = "tick at 2026-01-01T00:00:00+00:00: 2 bots in 31 ms (0 ordered, 0 errors)"
    assert redact(line) == line


def test_third_party_handlers_get_the_redacting_formatter(monkeypatch):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    other = logging.getLogger("some.sdk")
    other.addHandler(handler)
    other.propagate = False
    monkeypatch.setenv("COINBASE_API_SECRET", "another-secret-987654")
    try:
        install_redaction()
        other.error("HTTP 401 for key another-secret-987654")
        assert stream.getvalue().strip() == f"HTTP 401 for key {REDACTED}"
    finally:
        other.removeHandler(handler)


def test_sdk_logger_is_covered():
    sdk = logging.getLogger("coinbase.RESTClient")
    assert sdk.handlers, "the SDK attaches a handler on import"
    assert all(isinstance(h.formatter, RedactingFormatter) for h in sdk.handlers)
