"""The SDK's RESTClient behind our error tree, with timeouts and read retries.

Everything the SDK raises becomes an ``ExchangeError`` here, so callers follow
the retry policy the error classes encode: a read may be retried after a
``TemporaryError``; an order request that did not come back with an answer is
an ``UnknownOrderOutcome`` and is never sent again. SDK response objects are
turned into plain dicts at this edge (``to_dict``); nothing above sees them.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from multiprocessing import AuthenticationError
from typing import Any

import requests
from coinbase.rest import RESTClient

from autotrader.logging import redact
from market.coinbase.credentials import Credentials
from market.exchange import (
    ExchangeError,
    OrderRejected,
    PermanentError,
    RateLimited,
    TemporaryError,
    UnknownOrderOutcome,
)

log = logging.getLogger(__name__)

SDK_LOGGERS = ("coinbase.RESTClient", "coinbase.WSClient")
READ_RETRIES = 2
RETRY_BASE_SECONDS = 0.5
BODY_EXCERPT = 200


class NotFound(PermanentError):
    """HTTP 404: what was asked for does not exist (an order id, a product)."""


def sdk_logging_tame() -> None:
    """Make the SDK's loggers safe and quiet; idempotent, safe to call from anywhere.

    The SDK gives each of its loggers a stderr handler of its own when its
    module is imported. Both modules are imported here so both handlers exist,
    then every handler is put behind the project's redaction
    (``autotrader.logging``), the level is pinned at INFO (the SDK's debug
    lines dump whole responses: balances, orders) even when LOG_LEVEL=DEBUG,
    and propagation stops, so each SDK line is written once, redacted, and not
    a second time by the root handler.
    """
    # Importing the SDK's modules creates its loggers and their handlers.
    import coinbase.rest.rest_base
    import coinbase.websocket.websocket_base  # noqa: F401

    from autotrader.logging import install_redaction

    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    install_redaction()


class _PinnedVerifySession(requests.Session):
    """A session whose own ``verify`` wins over ``REQUESTS_CA_BUNDLE``.

    requests lets that variable override ``Session.verify`` when a request
    does not pass ``verify`` itself, and the SDK never does; COINBASE_CA_BUNDLE
    must win, or a private CA (the test fake) would be ignored.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[override]
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None:
            merged["verify"] = self.verify
        return merged


def build_rest_client(
    credentials: Credentials | None, *, base_url: str, timeout: float, ca_bundle: str = ""
) -> RESTClient:
    """A RESTClient with explicit credentials (or none) and a timeout on every call.

    The SDK's constructor defaults are read from COINBASE_API_KEY/SECRET at
    import time; passing both explicitly keeps those out of play.
    """
    client = RESTClient(
        api_key=credentials.key_name if credentials else None,
        api_secret=credentials.private_key if credentials else None,
        base_url=base_url,
        timeout=timeout,  # type: ignore[arg-type] - requests takes a float
    )
    if ca_bundle:
        session = _PinnedVerifySession()
        session.verify = ca_bundle
        client.session = session
    return client


class CoinbaseRest:
    """Calls into a RESTClient: plain dicts out, our errors raised, reads retried, orders not."""

    def __init__(
        self,
        client: RESTClient,
        *,
        read_retries: int = READ_RETRIES,
        retry_base_seconds: float = RETRY_BASE_SECONDS,
    ) -> None:
        self.client = client
        self.read_retries = read_retries
        self.retry_base_seconds = retry_base_seconds

    @property
    def authenticated(self) -> bool:
        return bool(self.client.is_authenticated)

    def call(self, what: str, fn: Callable[..., Any], /, **params: Any) -> dict[str, Any]:
        """A read (or an idempotent cancel), retried on timeouts, dropped connections
        and 5xx with exponential back-off and jitter.

        A 429 is not retried here: it means slow down, and the market-data
        cache backs off and serves the last good value.
        """
        attempt = 0
        while True:
            try:
                return _plain(fn(**params))
            except Exception as exc:
                error = translate(exc, what=what, timeout=self.client.timeout)
                if isinstance(error, RateLimited) or not isinstance(error, TemporaryError):
                    raise error from exc
                if attempt >= self.read_retries:
                    raise error from exc
                delay = self.retry_base_seconds * 2**attempt * (0.5 + random.random())
                log.warning("Coinbase %s failed (%s); retrying in %.2f s", what, error, delay)
                time.sleep(delay)
                attempt += 1

    def place(self, what: str, fn: Callable[..., Any], /, **params: Any) -> dict[str, Any]:
        """An order request, sent exactly once.

        No answer (timeout, dropped connection, 5xx, 429, an unreadable body)
        is an ``UnknownOrderOutcome``: the order may exist. A 4xx answer other
        than 408/429 means Coinbase refused the request: ``OrderRejected``.
        """
        try:
            return _plain(fn(**params))
        except Exception as exc:
            error = translate(exc, what=what, timeout=self.client.timeout)
            status = _status(exc)
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                code, message = _error_body(exc)
                raise OrderRejected(code or f"HTTP_{status}", message or str(error)) from exc
            if isinstance(error, TemporaryError):
                raise UnknownOrderOutcome(f"{what}: {error}") from exc
            raise error from exc


def translate(exc: BaseException, *, what: str, timeout: float | None = None) -> ExchangeError:
    """Map an exception from the SDK or requests onto our error tree."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, AuthenticationError):
        return PermanentError(
            f"Coinbase {what} needs an API key: set COINBASE_API_KEY and COINBASE_API_SECRET, or COINBASE_KEY_FILE"
        )
    if isinstance(exc, requests.Timeout):
        return TemporaryError(f"Coinbase did not answer {what} within {timeout:g} s")
    if isinstance(exc, requests.exceptions.SSLError):
        return PermanentError(f"TLS to Coinbase failed during {what} (check COINBASE_BASE_URL/CA_BUNDLE): {exc}")
    if isinstance(exc, requests.ConnectionError):
        return TemporaryError(f"connection to Coinbase lost during {what}: {type(exc).__name__}")
    status = _status(exc)
    if status is not None:
        code, message = _error_body(exc)
        detail = f"{code}: {message}" if code else message
        text = f"Coinbase {what}: HTTP {status}" + (f" {detail}" if detail else "")
        if status == 429:
            return RateLimited(text)
        if status >= 500 or status == 408:
            return TemporaryError(text)
        if status == 404:
            return NotFound(text)
        if status in (401, 403):
            return PermanentError(f"{text} (is the API key valid, with view and trade permission?)")
        return PermanentError(text)
    if isinstance(exc, ValueError):  # a body that is not JSON, e.g. a proxy's error page
        return TemporaryError(f"Coinbase {what}: unreadable answer ({type(exc).__name__})")
    return PermanentError(redact(f"Coinbase {what}: {type(exc).__name__}: {exc}"))


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) if response is not None else None


def _error_body(exc: BaseException) -> tuple[str, str]:
    """``(error code, message)`` from a JSON error body; a short excerpt of any other body."""
    response = getattr(exc, "response", None)
    text = (getattr(response, "text", "") or "").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        # Redacted here, where the exchange's words enter: an error that quotes the request's
        # Authorization header must not reach a log, a command's output or a row.
        code = redact(str(data.get("error") or ""))
        message = redact(str(data.get("message") or data.get("error_details") or ""))
        return code, message[:BODY_EXCERPT]
    if text.startswith("<"):
        return "", ""  # an HTML error page says nothing the status does not
    return "", redact(text)[:BODY_EXCERPT]


def _plain(response: Any) -> dict[str, Any]:
    if hasattr(response, "to_dict"):
        response = response.to_dict()
    if not isinstance(response, dict):
        raise TemporaryError(f"unexpected answer of type {type(response).__name__}")
    return response
