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


# --- what an exchange may quote back -------------------------------------------------------
KEY_NAME = "organizations/0f1e2d3c-test-org/apiKeys/9a8b7c6d-test-key"


@pytest.fixture
def token(pem) -> str:
    return jwt.encode(
        {"sub": KEY_NAME, "iss": "cdp", "uri": "POST api.coinbase.com/api/v3/brokerage/orders"},
        pem,
        algorithm="ES256",
        headers={"kid": KEY_NAME, "nonce": "0123456789abcdef"},
    )


@pytest.mark.parametrize("cut", [20, 45, 90, 150, None])
def test_a_jwt_cut_anywhere_is_redacted_with_or_without_its_scheme(token, cut):
    piece = token[:cut]
    for text in (
        f"Authorization: Bearer {piece}",
        f"headers={{'Authorization': 'Bearer {piece}', 'Content-Type': 'application/json'}}",
        f'{{"authorization": "{piece}"}}',
        f"HTTP_AUTHORIZATION={piece}",
        f"bad token {piece}",
    ):
        out = redact(text)
        assert "eyJ" not in out and piece[3:15] not in out, text


def test_a_jwt_without_its_header_is_redacted(token):
    body_and_signature = token.split(".", 1)[1]
    assert token.split(".")[2][:16] not in redact(f"signature check failed on {body_and_signature}")


@pytest.mark.parametrize(
    "text",
    [
        f"request refused for key {KEY_NAME}",
        f"'kid': '{KEY_NAME}'",
        f"key {KEY_NAME[:25]}",  # cut inside the organisation
        "key name apiKeys/9a8b7c6d-test-key",
    ],
)
def test_api_key_names_are_redacted_whole_or_in_part(text):
    out = redact(text)
    assert "0f1e2d3c" not in out and "9a8b7c6d" not in out and REDACTED in out


def test_a_remembered_secret_is_redacted_even_cut_short_at_the_end(monkeypatch):
    from autotrader.logging import remember_secret

    remember_secret("remembered-key-name-1f2e3d")
    assert redact("key remembered-key-name-1f2e3d refused") == f"key {REDACTED} refused"
    assert redact("failed for remembered-key-na") == f"failed for {REDACTED}"
    assert redact("remembered words") == "remembered words"


def test_loading_credentials_from_a_file_teaches_redaction_the_key(tmp_path, pem):
    import json

    from market.coinbase.credentials import load_credentials

    key_file = tmp_path / "cdp_api_key.json"
    key_file.write_text(json.dumps({"name": "a-uuid-style-key-7c1d9e", "privateKey": pem}))
    load_credentials(key_file=str(key_file))
    out = redact(f"key a-uuid-style-key-7c1d9e with {pem.splitlines()[1]}")
    assert "7c1d9e" not in out and pem.splitlines()[1] not in out


@pytest.mark.parametrize(
    "text",
    [
        'Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9 and {"api_secret": "abc", "price": "1"}',
        "password=hunter2, token: abc; organizations/x/apiKeys/y",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----",
    ],
)
def test_redacting_twice_changes_nothing(text):
    once = redact(text)
    assert redact(once) == once


def test_ordinary_exchange_texts_are_untouched():
    for line in (
        "Coinbase place order: HTTP 400 INVALID_ARGUMENT: quote size 0.00012 is below 1.00",
        "Insufficient balance in source account",
        "connection to Coinbase lost during get order: ConnectionError",
        "lookup of at-12-1767225600-buy failed: Coinbase get order: HTTP 404 NOT_FOUND",
    ):
        assert redact(line) == line


def test_any_piece_of_a_loaded_private_key_is_redacted_however_it_is_cut_or_joined(pem):
    from autotrader.logging import remember_secret

    remember_secret(pem)
    body_lines = [line for line in pem.splitlines() if "-----" not in line]
    middle = body_lines[0][30:] + "\n" + body_lines[1][:20]  # across a line break, no BEGIN line
    escaped = body_lines[0][50:] + "\\n" + body_lines[1]  # as pasted into one environment variable
    joined = body_lines[1][10:40]  # within one line
    for piece in (middle, escaped, joined):
        out = redact(f"could not sign with {piece} (bad key)")
        assert out == f"could not sign with {REDACTED} (bad key)", piece
    assert redact("could not sign with the key (bad key)") == "could not sign with the key (bad key)"
