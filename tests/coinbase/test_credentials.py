"""Loading Coinbase credentials: env pair, CDP key file, precedence, bad keys, no leaks."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from market.coinbase import CoinbaseExchange, CoinbaseMarketData, CredentialsError, load_credentials
from market.coinbase.client import SDK_LOGGERS
from tests.coinbase.conftest import KEY_NAME, make_key

KEY = make_key()
ESCAPED = KEY.pem.replace("\n", "\\n")


def test_env_pair_with_escaped_newlines_loads():
    creds = load_credentials(api_key=KEY.name, api_secret=ESCAPED)
    assert creds is not None
    assert creds.key_name == KEY.name
    assert creds.private_key == KEY.pem.strip()


def test_env_secret_in_quotes_with_real_newlines_loads():
    creds = load_credentials(api_key=KEY.name, api_secret=f'"{KEY.pem}"')
    assert creds is not None and creds.private_key == KEY.pem.strip()


def test_cdp_key_file_loads(tmp_path):
    path = tmp_path / "cdp_api_key.json"
    path.write_text(json.dumps({"name": KEY.name, "privateKey": KEY.pem}))
    creds = load_credentials(key_file=str(path))
    assert creds is not None and creds.key_name == KEY.name


def test_nothing_configured_means_public_data_only():
    assert load_credentials() is None


def test_key_file_and_env_pair_together_are_refused(tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"name": KEY.name, "privateKey": KEY.pem}))
    with pytest.raises(CredentialsError, match="not both"):
        load_credentials(api_key=KEY.name, api_secret=ESCAPED, key_file=str(path))


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [({"api_key": KEY_NAME}, "COINBASE_API_SECRET is not"), ({"api_secret": ESCAPED}, "COINBASE_API_KEY is not")],
)
def test_half_a_pair_is_refused(kwargs, missing):
    with pytest.raises(CredentialsError, match=missing):
        load_credentials(**kwargs)


def test_a_key_that_does_not_parse_says_so_without_echoing_it():
    broken = ESCAPED.replace("MH", "xx", 1)[:-60] + "\\n-----END EC PRIVATE KEY-----"
    with pytest.raises(CredentialsError) as info:
        load_credentials(api_key=KEY.name, api_secret=broken)
    message = str(info.value)
    assert "COINBASE_API_SECRET does not parse as a PEM private key" in message
    assert "BEGIN and END lines of its PEM block" in message  # the hint says what to paste
    body = KEY.pem.splitlines()[1]
    assert body[:20] not in message


def test_a_secret_that_is_not_a_key_at_all_is_refused():
    with pytest.raises(CredentialsError, match="neither a PEM private key nor a base64 Ed25519 key"):
        load_credentials(api_key=KEY.name, api_secret="my-password-123")


def test_an_rsa_key_is_refused_with_the_reason():
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    with pytest.raises(CredentialsError, match="EC P-256"):
        load_credentials(api_key=KEY.name, api_secret=pem)


def test_a_base64_ed25519_key_loads():
    raw = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    creds = load_credentials(api_key="ed-key", api_secret=base64.b64encode(raw * 2).decode())
    assert creds is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "could not be read"),
        ("not json", "is not JSON"),
        (json.dumps(["a"]), "does not hold a JSON object"),
        (json.dumps({"name": KEY_NAME}), "lacks a non-empty privateKey"),
        (json.dumps({"privateKey": "x"}), "lacks a non-empty name"),
        (json.dumps({"name": KEY_NAME, "privateKey": "-----BEGIN EC PRIVATE KEY-----\nAAAA"}), "does not parse"),
    ],
)
def test_bad_key_files_get_a_message_naming_the_variable(tmp_path, content, message):
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CredentialsError, match=message) as info:
        load_credentials(key_file=str(path))
    assert "COINBASE_KEY_FILE" in str(info.value)


def test_credentials_never_show_the_private_key():
    creds = load_credentials(api_key=KEY.name, api_secret=ESCAPED)
    for text in (repr(creds), str(creds), f"{creds}"):
        assert "PRIVATE" not in text and KEY.name not in text


def test_live_exchange_without_credentials_refuses_clearly(settings):
    settings.COINBASE_API_KEY = settings.COINBASE_API_SECRET = settings.COINBASE_KEY_FILE = ""
    with pytest.raises(CredentialsError, match="live orders need Coinbase credentials"):
        CoinbaseExchange.from_settings()


def test_market_data_ignores_even_a_broken_key(settings):
    """Paper trading on live prices must work with no key, or a bad one."""
    settings.COINBASE_API_KEY, settings.COINBASE_API_SECRET = KEY.name, "garbage"
    market = CoinbaseMarketData.from_settings()
    assert market.client.is_authenticated is False


def test_sdk_loggers_write_once_redacted_and_never_debug():
    from autotrader.logging import RedactingFormatter

    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        own = [h for h in logger.handlers if type(h) is logging.StreamHandler]  # not pytest's capture handlers
        assert own and all(isinstance(h.formatter, RedactingFormatter) for h in own)
        assert logger.propagate is False
        assert logger.level == logging.INFO
