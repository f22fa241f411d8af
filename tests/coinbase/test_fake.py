"""The fake itself: it must refuse what Coinbase refuses, or the adapter tests prove little."""

from __future__ import annotations

import secrets
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

PATH = "/api/v3/brokerage/accounts"


def token(key, *, uri: str, sub: str | None = None, lifetime: int = 120, shift: int = 0) -> str:
    now = int(time.time()) + shift
    private = serialization.load_pem_private_key(key.pem.encode(), password=None)
    claims = {"sub": sub or key.name, "iss": "cdp", "nbf": now, "exp": now + lifetime, "uri": uri}
    return jwt.encode(claims, private, algorithm="ES256", headers={"kid": key.name, "nonce": secrets.token_hex()})


def get(fake, certs, headers):
    return requests.get(f"https://{fake.base_url}{PATH}", headers=headers, verify=str(certs.ca), timeout=5)


def test_a_correct_jwt_is_accepted(fake_coinbase, coinbase_certs, coinbase_key):
    bearer = token(coinbase_key, uri=f"GET {fake_coinbase.base_url}{PATH}")
    assert get(fake_coinbase, coinbase_certs, {"Authorization": f"Bearer {bearer}"}).status_code == 200


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"shift": -300}, "ExpiredSignatureError"),
        ({"shift": 300}, "ImmatureSignatureError"),
        ({"lifetime": 600}, "lifetime over 120 s"),
        ({"sub": "organizations/x/apiKeys/other"}, "wrong sub"),
        ({"uri": "GET api.coinbase.com/api/v3/brokerage/accounts"}, "does not match the request"),
    ],
)
def test_a_wrong_jwt_is_refused_with_401(fake_coinbase, coinbase_certs, coinbase_key, claims, why):
    uri = claims.pop("uri", f"GET {fake_coinbase.base_url}{PATH}")
    bearer = token(coinbase_key, uri=uri, **claims)
    answer = get(fake_coinbase, coinbase_certs, {"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 401
    assert why in fake_coinbase.requests("GET /accounts")[0].auth


def test_no_token_is_refused(fake_coinbase, coinbase_certs):
    assert get(fake_coinbase, coinbase_certs, {}).status_code == 401


def test_a_429_has_an_html_body(fake_coinbase, coinbase_certs):
    fake_coinbase.faults.add("GET /accounts", "status", 429)
    answer = get(fake_coinbase, coinbase_certs, {})
    assert answer.status_code == 429 and answer.text.startswith("<html>")


def test_faults_match_one_path_segment_per_star(fake_coinbase):
    fault = fake_coinbase.faults.add("GET /orders/historical/*", "status", 503, times=None)
    assert fault.matches("GET", "/orders/historical/abc")
    assert not fault.matches("GET", "/orders/historical/abc/def")
    assert not fault.matches("POST", "/orders/historical/abc")
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake_coinbase.faults.add("GET /accounts", "explode")
