"""Coinbase API credentials: where they come from, and a check that they parse.

Two sources, never both: the pair ``COINBASE_API_KEY`` / ``COINBASE_API_SECRET``
(a secret pasted with escaped ``\\n`` loads too), or ``COINBASE_KEY_FILE``, the
JSON file the CDP portal downloads (``name`` and ``privateKey``). When both are
set we refuse rather than guess which one the operator meant. The private key
is parsed here, at load time, so a bad paste stops start-up with a message
that says so instead of failing on the first order. Nothing in this module
puts a key into a message, a log line or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from autotrader.logging import remember_secret
from market.exchange import PermanentError

PEM_HINT = (
    "paste the privateKey of a CDP API key whole, with the BEGIN and END lines of its PEM block "
    "(newlines may be written as \\n)"
)


class CredentialsError(PermanentError):
    """Credentials are missing, ambiguous or do not parse; the message names the variable."""


@dataclass(frozen=True)
class Credentials:
    """A CDP API key: its name and its private key (PEM, or base64 for Ed25519)."""

    key_name: str
    private_key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(key_name='…{self.key_name[-4:]}', private_key=<redacted>)"

    __str__ = __repr__


def load_credentials(*, api_key: str = "", api_secret: str = "", key_file: str = "") -> Credentials | None:
    """The configured credentials, ``None`` when there are none (public data only).

    Raises ``CredentialsError`` when only half a pair is set, when both sources
    are set, or when the key does not parse.
    """
    api_key, api_secret, key_file = api_key.strip(), api_secret.strip(), key_file.strip()
    if key_file and (api_key or api_secret):
        raise CredentialsError(
            "both COINBASE_KEY_FILE and COINBASE_API_KEY/COINBASE_API_SECRET are set; "
            "set one of them, not both, so it is clear which key trades"
        )
    if key_file:
        name, secret = _read_key_file(key_file)
        return _remembered(Credentials(name, _checked_key(secret, "COINBASE_KEY_FILE's privateKey")))
    if api_key and not api_secret:
        raise CredentialsError("COINBASE_API_KEY is set but COINBASE_API_SECRET is not; set both")
    if api_secret and not api_key:
        raise CredentialsError("COINBASE_API_SECRET is set but COINBASE_API_KEY is not; set both")
    if not api_key:
        return None
    return _remembered(Credentials(api_key, _checked_key(api_secret, "COINBASE_API_SECRET")))


def _remembered(credentials: Credentials) -> Credentials:
    """Tell redaction the key's exact name and secret, wherever they came from (a file, settings)."""
    remember_secret(credentials.key_name, credentials.private_key)
    return credentials


def _read_key_file(path: str) -> tuple[str, str]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise CredentialsError(f"COINBASE_KEY_FILE {path!r} could not be read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise CredentialsError(
            f"COINBASE_KEY_FILE {path!r} is not JSON; expected the CDP key file with 'name' and 'privateKey'"
        ) from None
    if not isinstance(data, dict):
        raise CredentialsError(f"COINBASE_KEY_FILE {path!r} does not hold a JSON object with 'name' and 'privateKey'")
    name = str(data.get("name") or data.get("id") or "").strip()
    secret = data.get("privateKey")
    has_secret = isinstance(secret, str) and bool(secret.strip())
    if not name or not has_secret:
        missing = " and ".join(k for k, ok in (("name", bool(name)), ("privateKey", has_secret)) if not ok)
        raise CredentialsError(f"COINBASE_KEY_FILE {path!r} lacks a non-empty {missing}")
    return name, secret


def normalise_secret(secret: str) -> str:
    """Undo what environment files do to a PEM: quotes around it, ``\\n`` for newlines."""
    secret = secret.strip()
    if len(secret) >= 2 and secret[0] == secret[-1] and secret[0] in "'\"":
        secret = secret[1:-1].strip()
    return secret.replace("\\r\\n", "\n").replace("\\n", "\n").strip()


def _checked_key(secret: str, source: str) -> str:
    """Parse the key the way the SDK will sign with it; return it normalised."""
    secret = normalise_secret(secret)
    if secret.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(secret.encode(), password=None)
        except (ValueError, TypeError) as exc:
            # cryptography's messages describe the format, never the key material.
            raise CredentialsError(f"{source} does not parse as a PEM private key ({exc}); {PEM_HINT}") from None
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            return secret
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return secret
        raise CredentialsError(
            f"{source} is a {type(key).__name__.lstrip('_')}; Coinbase signs with an EC P-256 (ES256) "
            "or Ed25519 key; create a new CDP API key"
        )
    # CDP's Ed25519 keys come as base64 of 64 bytes (seed + public key); the SDK accepts them.
    try:
        raw = base64.b64decode("".join(secret.split()), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) in (32, 64):
        return secret
    raise CredentialsError(f"{source} is neither a PEM private key nor a base64 Ed25519 key; {PEM_HINT}")
