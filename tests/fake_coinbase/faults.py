"""Faults a test arms on a route of the fake: ``fake.faults.add("POST /orders", "status", 503, times=2)``.

Kinds:

- ``status``: answer with that HTTP status before doing anything (429 gets an
  HTML body, as Coinbase's edge sends; 5xx a short body).
- ``delay``: sleep ``value`` seconds, then handle the request normally (an
  order is created late, after a client that timed out has given up).
- ``drop``: handle the request (an order is created), then close the
  connection without an answer.
- ``partial``: ``POST /orders`` fills only the fraction ``value``; the IOC
  remainder is cancelled.
- ``reject``: ``POST /orders`` is refused with the reason ``value`` (HTTP 200,
  ``success: false``).
- ``open``: ``POST /orders`` is accepted but rests unfilled (OPEN).
- ``legacy-success``: ``POST /orders`` succeeds with the pre-2024 extras
  (``failure_reason: UNKNOWN_FAILURE_REASON`` and a top-level ``order_id`` that
  is not the order's), as in coinbase-advanced-py #49.
- ``fills-lag``: the order's fills stay out of the next ``value`` fill
  listings, as Coinbase's fill list can trail the order's status.
- ``echo-auth``: the request is refused with a message that names the API key
  and quotes the request's ``Authorization`` header cut to ``value``
  characters (160 by default), as a careless error handler would:
  ``POST /orders`` as a rejection (HTTP 200, ``success: false``), any other
  route as HTTP 400. ``fake.echoes`` keeps every such message.

``times`` is how many matching requests the fault hits (``None``: all).
Routes are ``"<METHOD> <path>"`` below ``/api/v3/brokerage``, ``*`` matching
within a path segment (``"GET /market/products/*/candles"``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

KINDS = ("status", "delay", "drop", "partial", "reject", "open", "legacy-success", "fills-lag", "echo-auth")


@dataclass
class Fault:
    route: str
    kind: str
    value: Any = None
    times: int | None = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        want_method, _, want_path = self.route.partition(" ")
        pattern = "[^/]*".join(re.escape(part) for part in want_path.split("*"))
        return want_method == method and re.fullmatch(pattern, path) is not None


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []

    def add(self, route: str, kind: str, value: Any = None, *, times: int | None = 1) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(KINDS)}")
        if " " not in route:
            raise ValueError(f"a route is '<METHOD> <path>', got {route!r}")
        fault = Fault(route, kind, value, times)
        with self._lock:
            self._armed.append(fault)
        return fault

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that hit this request (at most one per kind), used up as they hit."""
        hit: list[Fault] = []
        with self._lock:
            for fault in self._armed:
                if fault.matches(method, path) and all(f.kind != fault.kind for f in hit):
                    fault.hits += 1
                    hit.append(fault)
            self._armed = [f for f in self._armed if f.times is None or f.hits < f.times]
        return hit

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
