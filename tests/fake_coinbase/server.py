"""A local HTTPS fake of the Coinbase Advanced Trade REST API.

The real SDK talks to it unchanged: ``COINBASE_BASE_URL`` points at
``127.0.0.1:<port>`` and ``COINBASE_CA_BUNDLE`` at the test CA. Private
endpoints check the JWT the way Coinbase does (ES256 or EdDSA with the
test key, ``sub``/``iss``/``nbf``/``exp``/``uri``) and answer 401 otherwise.
Every request is logged for assertions; faults are armed per route.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.fake_coinbase.certs import CertPaths
from tests.fake_coinbase.faults import Fault, Faults
from tests.fake_coinbase.records import ApiError
from tests.fake_coinbase.state import CoinbaseState

log = logging.getLogger(__name__)

PREFIX = "/api/v3/brokerage"
TOO_MANY_REQUESTS_HTML = (
    "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
    "<center><h1>429 Too Many Requests</h1></center>\r\n</body>\r\n</html>\r\n"
)
STATUS_BODIES = {
    500: ("application/json", json.dumps({"error": "INTERNAL", "message": "Internal error"})),
    502: ("text/plain", "upstream connect error or disconnect/reset before headers. reset reason: overflow"),
    503: ("text/plain", "no healthy upstream"),
    504: ("text/plain", "upstream request timeout"),
}


@dataclass
class LoggedRequest:
    method: str
    path: str  # below /api/v3/brokerage
    query: dict[str, list[str]]
    body: dict[str, Any] | None
    status: int = 0  # 0: no answer (the connection was dropped)
    auth: str = ""  # "", "ok" or why the JWT was refused
    faults: tuple[str, ...] = ()

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


class _Dropped(Exception):
    """Close the connection without an answer."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    error_message_format = "%(message)s"

    def setup(self) -> None:
        self.request.settimeout(30)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake coinbase: " + format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        path = url.path.removeprefix(PREFIX)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = LoggedRequest(method, path, query, body)
        faults = fake.faults.take(method, path)
        entry.faults = tuple(f.kind for f in faults)
        with fake.lock:
            fake.log.append(entry)
        by_kind: dict[str, Fault] = {f.kind: f for f in faults}
        try:
            if "delay" in by_kind:
                time.sleep(float(by_kind["delay"].value))
            if "status" in by_kind:
                self._status_fault(entry, int(by_kind["status"].value))
                return
            status, answer = fake.dispatch(
                self, method, path, query, body, entry, {k: f.value for k, f in by_kind.items()}
            )
            if "drop" in by_kind:
                raise _Dropped
            self._send(entry, status, "application/json", json.dumps(answer))
        except _Dropped:
            entry.status = 0
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _status_fault(self, entry: LoggedRequest, status: int) -> None:
        if status == 429:
            self._send(entry, 429, "text/html", TOO_MANY_REQUESTS_HTML)
        else:
            kind, text = STATUS_BODIES.get(status, ("text/plain", f"HTTP {status}"))
            self._send(entry, status, kind, text)

    def _send(self, entry: LoggedRequest, status: int, content_type: str, text: str) -> None:
        data = text.encode()
        entry.status = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a delay beyond its timeout)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeCoinbase

    def handle_error(self, request, client_address) -> None:
        log.debug("fake coinbase: connection from %s ended badly", client_address, exc_info=True)


# (method, path pattern, handler name, private)
ROUTES = [
    ("GET", r"/market/products", "products", False),
    ("GET", r"/market/products/(?P<pid>[^/]+)", "product", False),
    ("GET", r"/market/products/(?P<pid>[^/]+)/candles", "candles", False),
    ("GET", r"/market/products/(?P<pid>[^/]+)/ticker", "ticker", False),
    ("GET", r"/accounts", "accounts", True),
    ("GET", r"/transaction_summary", "transaction_summary", True),
    ("GET", r"/key_permissions", "key_permissions", True),
    ("POST", r"/orders", "create_order", True),
    ("POST", r"/orders/batch_cancel", "cancel", True),
    ("GET", r"/orders/historical/batch", "orders", True),
    ("GET", r"/orders/historical/fills", "fills", True),
    ("GET", r"/orders/historical/(?P<oid>[^/]+)", "order", True),
]


class FakeCoinbase:
    """The fake: ``start()``, point the SDK at ``base_url``, ``stop()``."""

    def __init__(self, state: CoinbaseState, certs: CertPaths, *, key_name: str, public_key: Any) -> None:
        self.state = state
        self.certs = certs
        self.key_name = key_name
        self.public_key = public_key
        self.faults = Faults()
        self.log: list[LoggedRequest] = []
        self.echoes: list[str] = []  # messages of the echo-auth fault, as sent
        self.lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------
    def start(self) -> FakeCoinbase:
        server = _Server(("127.0.0.1", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certs.cert, self.certs.key)
        # The handshake happens in the handler's thread, so a slow client never blocks accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        """What COINBASE_BASE_URL takes: host:port, no scheme."""
        assert self._server is not None, "start() the fake first"
        return f"127.0.0.1:{self._server.server_address[1]}"

    # --- assertions ------------------------------------------------------------
    def requests(self, route: str | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally only those of ``"<METHOD> <path>"``."""
        with self.lock:
            return [r for r in self.log if route is None or r.route == route]

    def order_posts(self) -> list[str]:
        """The client_order_id of every POST /orders that reached the fake, in order."""
        return [str((r.body or {}).get("client_order_id")) for r in self.requests("POST /orders")]

    # --- dispatch --------------------------------------------------------------
    def dispatch(
        self,
        handler: _Handler,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: dict[str, Any] | None,
        entry: LoggedRequest,
        faults: dict[str, Any],
    ) -> tuple[int, dict[str, Any]]:
        for want, pattern, name, private in ROUTES:
            match = re.fullmatch(pattern, path)
            if want != method or match is None:
                continue
            if private:
                entry.auth = self._check_jwt(handler.headers.get("Authorization", ""), method, path)
                if entry.auth != "ok":
                    return 401, {"error": "UNAUTHENTICATED", "message": "Unauthorized"}
            if "echo-auth" in faults:
                return self._echo_auth(handler, method, path, body, faults["echo-auth"])
            try:
                return 200, getattr(self, f"_{name}")(query=query, body=body or {}, faults=faults, **match.groupdict())
            except ApiError as exc:
                return exc.status, exc.body()
        return 404, {"error": "NOT_FOUND", "message": "Not Found"}

    def _echo_auth(
        self, handler: _Handler, method: str, path: str, body: dict[str, Any] | None, cut: int | None
    ) -> tuple[int, dict[str, Any]]:
        """A refusal that quotes the request's Authorization header and the key's name."""
        header = handler.headers.get("Authorization", "")[: cut or 160]
        message = (
            f"request refused for key {self.key_name}: "
            f"headers={{'Authorization': '{header}', 'Content-Type': 'application/json'}}"
        )
        with self.lock:
            self.echoes.append(message)
        error = {"error": "INVALID_ARGUMENT", "message": message, "error_details": message}
        if (method, path) == ("POST", "/orders"):
            return 200, {
                "success": False,
                "error_response": {
                    **error,
                    "preview_failure_reason": "UNKNOWN_PREVIEW_FAILURE_REASON",
                    "new_order_failure_reason": "INVALID_ARGUMENT",
                },
                "order_configuration": (body or {}).get("order_configuration") or {},
            }
        return 400, error

    def _check_jwt(self, header: str, method: str, path: str) -> str:
        """The string ok, or why Coinbase would answer 401."""
        if not header.startswith("Bearer "):
            return "no bearer token"
        token = header.removeprefix("Bearer ")
        try:
            head = jwt.get_unverified_header(token)
            algorithm = "EdDSA" if isinstance(self.public_key, ed25519.Ed25519PublicKey) else "ES256"
            if head.get("alg") != algorithm or head.get("kid") != self.key_name or not head.get("nonce"):
                return f"bad header {head}"
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=[algorithm],
                issuer="cdp",
                options={"require": ["sub", "iss", "nbf", "exp", "uri"]},
            )
        except jwt.PyJWTError as exc:
            return f"{type(exc).__name__}: {exc}"
        if claims["sub"] != self.key_name:
            return "wrong sub"
        if claims["exp"] - claims["nbf"] > 120:
            return "lifetime over 120 s"
        if claims["uri"] != f"{method} {self.base_url}{PREFIX}{path}":
            return f"uri {claims['uri']!r} does not match the request"
        return "ok"

    # --- routes ----------------------------------------------------------------
    def _products(self, *, query, **_) -> dict[str, Any]:
        limit = _int(query, "limit")
        return self.state.products_json(
            limit=limit, offset=_int(query, "offset") or 0, product_type=_str(query, "product_type")
        )

    def _product(self, *, pid: str, **_) -> dict[str, Any]:
        return self.state.product_json(pid)

    def _candles(self, *, pid: str, query, **_) -> dict[str, Any]:
        try:
            start, end = int(_str(query, "start") or ""), int(_str(query, "end") or "")
        except ValueError:
            raise ApiError(400, "INVALID_ARGUMENT", "start and end must be UNIX seconds") from None
        return self.state.candles_json(pid, start, end, _str(query, "granularity") or "")

    def _ticker(self, *, pid: str, query, **_) -> dict[str, Any]:
        return self.state.ticker_json(pid, _int(query, "limit") or 1)

    def _accounts(self, *, query, **_) -> dict[str, Any]:
        return self.state.accounts_json(limit=_int(query, "limit"), cursor=_str(query, "cursor"))

    def _transaction_summary(self, **_) -> dict[str, Any]:
        return self.state.transaction_summary_json()

    def _key_permissions(self, **_) -> dict[str, Any]:
        return self.state.key_permissions_json()

    def _create_order(self, *, body, faults, **_) -> dict[str, Any]:
        return self.state.create_order(body, faults)

    def _cancel(self, *, body, **_) -> dict[str, Any]:
        return self.state.cancel_json([str(i) for i in body.get("order_ids") or []])

    def _orders(self, *, query, **_) -> dict[str, Any]:
        return self.state.orders_json(query)

    def _fills(self, *, query, **_) -> dict[str, Any]:
        return self.state.fills_json(query)

    def _order(self, *, oid: str, **_) -> dict[str, Any]:
        return self.state.order_json(oid)


def _str(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _int(query: dict[str, list[str]], key: str) -> int | None:
    value = _str(query, key)
    try:
        return int(value) if value else None
    except ValueError:
        raise ApiError(400, "INVALID_ARGUMENT", f"{key} must be an integer") from None


def public_key_of(private_pem: str) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key()  # type: ignore[union-attr,return-value]
