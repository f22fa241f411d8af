"""Control and state of the market stream (``manage.py market_stream``).

The desired state is a row (``StreamControl``) that the API and dashboard
switch; the stream process reads it and reports its own state through a
``stream`` heartbeat (connected, last message, reconnects, products).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from autotrader.logging import redact
from market.models import StreamControl
from market.types import Ticker

log = logging.getLogger(__name__)

STREAM_ROLE = "stream"
STALE_SECONDS = 60


def stream_control() -> StreamControl:
    control, _ = StreamControl.objects.get_or_create(pk=1)
    return control


def stream_set_enabled(*, enabled: bool, at: datetime | None = None) -> StreamControl:
    """Ask the stream process to run (True) or to disconnect and idle (False)."""
    control = stream_control()
    control.enabled = enabled
    control.changed_at = at or timezone.now()
    control.save(update_fields=["enabled", "changed_at"])
    return control


def stream_status() -> dict[str, Any]:
    """The stream as the API and the health page show it."""
    from market.models import Heartbeat

    control = stream_control()
    beat = Heartbeat.objects.filter(role=STREAM_ROLE).order_by("-beat_at").first()
    now = timezone.now()
    alive = beat is not None and (now - beat.beat_at).total_seconds() < STALE_SECONDS
    info = beat.info if beat else {}
    return {
        "enabled": control.enabled,
        "process_alive": alive,
        "process": beat.name if beat else None,
        "last_heartbeat": beat.beat_at if beat else None,
        "connected": bool(alive and info.get("connected")),
        "source": info.get("source"),
        "products": info.get("products", []),
        "last_message_at": info.get("last_message_at"),
        "messages": info.get("messages", 0),
        "reconnects": info.get("reconnects", 0),
        "last_error": info.get("last_error", ""),
    }


# --- the stream process --------------------------------------------------------
def parse_ticker_message(raw: str, received_at: datetime) -> list[Ticker]:
    """Tickers from one Coinbase WebSocket message (``ticker`` or ``ticker_batch`` channel)."""
    try:
        message = json.loads(raw)
    except ValueError:
        return []
    if message.get("channel") not in ("ticker", "ticker_batch"):
        return []
    out = []
    for event in message.get("events") or []:
        for t in event.get("tickers") or []:
            try:
                price = Decimal(t["price"])
                bid = Decimal(t.get("best_bid") or t["price"])
                ask = Decimal(t.get("best_ask") or t["price"])
            except (KeyError, InvalidOperation, TypeError):
                continue
            if not (price.is_finite() and bid.is_finite() and ask.is_finite()) or price <= 0:
                continue
            out.append(Ticker(t["product_id"], bid, ask, price, received_at))
    return out


@dataclass
class StreamState:
    source: str
    products: list[str] = field(default_factory=list)
    connected: bool = False
    messages: int = 0
    reconnects: int = 0
    last_message_at: str | None = None
    last_error: str = ""

    def as_info(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "products": self.products,
            "connected": self.connected,
            "messages": self.messages,
            "reconnects": self.reconnects,
            "last_message_at": self.last_message_at,
            "last_error": self.last_error,
        }


class SimulatedFeed:
    """The simulated market as a stream: a ticker per product every ``every`` seconds."""

    def __init__(self, market, every: float = 1.0) -> None:
        self.market = market
        self.every = every

    def run(self, products: list[str], on_ticker: Callable[[Ticker], None], stop: threading.Event) -> None:
        while not stop.is_set():
            for product_id in products:
                on_ticker(self.market.ticker(product_id))
            stop.wait(self.every)


class CoinbaseFeed:
    """Coinbase's WebSocket ticker channel through the SDK's WSClient (public: no key needed)."""

    def __init__(self, url: str, *, idle_timeout: float = 30.0) -> None:
        self.url = url
        self.idle_timeout = idle_timeout

    def run(self, products: list[str], on_ticker: Callable[[Ticker], None], stop: threading.Event) -> None:
        from coinbase.websocket import WSClient

        last = [time.monotonic()]

        def on_message(raw: str) -> None:
            last[0] = time.monotonic()
            for ticker in parse_ticker_message(raw, timezone.now()):
                on_ticker(ticker)

        client = WSClient(api_key=None, api_secret=None, base_url=self.url, on_message=on_message, retry=False)
        client.open()
        try:
            # Heartbeats keep the other channels open (they close after 60-90 s without updates).
            client.subscribe(product_ids=products, channels=["ticker", "heartbeats"])
            while not stop.is_set():
                client.sleep_with_exception_check(1)
                # The SDK ends its reader quietly on a clean close (ConnectionClosedOK);
                # its own open-check (pinned SDK version) tells us to reconnect.
                if not client._is_websocket_open():
                    raise ConnectionError("the exchange closed the stream")
                if time.monotonic() - last[0] > self.idle_timeout:
                    raise ConnectionError(f"no message for {self.idle_timeout:g} s")
        finally:
            # The SDK's close waits for the close handshake without a timeout: a
            # server that never answers must not hang the stream process.
            closer = threading.Thread(target=_close_quietly, args=(client,), daemon=True)
            closer.start()
            closer.join(timeout=5)


def _close_quietly(client) -> None:
    with contextlib.suppress(Exception):
        client.close()


class StreamRunner:
    """Keeps a feed running for the pairs of running bots; writes tickers into the cache.

    Reconnects with exponential back-off and jitter, obeys StreamControl, and
    reports its state through the ``stream`` heartbeat.
    """

    def __init__(self, *, feed, market, products: Callable[[], list[str]], source: str) -> None:
        self.feed = feed
        self.market = market
        self.products = products
        self.state = StreamState(source)
        self.backoff = 1.0

    def on_ticker(self, ticker: Ticker) -> None:
        self.market.put_ticker(ticker)
        self.state.connected = True
        self.state.messages += 1
        self.state.last_message_at = ticker.time.isoformat()
        self.backoff = 1.0

    def beat(self) -> None:
        from market.processes import heartbeat

        heartbeat(STREAM_ROLE, self.state.as_info())

    def run(self, stop: threading.Event, *, max_backoff: float = 60.0) -> None:
        while not stop.is_set():
            if not stream_control().enabled:
                self.state.connected = False
                self.beat()
                stop.wait(2)
                continue
            products = sorted(self.products())
            self.state.products = products
            if not products:
                self.state.connected = False
                self.beat()
                stop.wait(5)
                continue
            session_stop = threading.Event()
            watcher = threading.Thread(target=self._watch, args=(stop, session_stop, products), daemon=True)
            watcher.start()
            failed = False
            try:
                self.feed.run(products, self.on_ticker, session_stop)
            except Exception as exc:  # any feed failure means: reconnect after a pause
                failed = True
                self.state.last_error = redact(f"{type(exc).__name__}: {exc}")[:300]
                log.warning("market stream: %s; reconnecting in %.0f s", self.state.last_error, self.backoff)
            finally:
                session_stop.set()
                watcher.join()
            self.state.connected = False
            if stop.is_set():
                break
            if failed:
                self.state.reconnects += 1
                self.beat()
                stop.wait(self.backoff * random.uniform(0.5, 1.0))
                self.backoff = min(max_backoff, self.backoff * 2)
        self.state.connected = False
        self.beat()

    def _watch(self, stop: threading.Event, session_stop: threading.Event, products: list[str]) -> None:
        """Beat every few seconds; end the session when asked, disabled, or the pairs change."""
        checked = 0.0
        while not session_stop.wait(0.2):
            if stop.is_set():
                session_stop.set()
            elif time.monotonic() - checked >= 5:
                checked = time.monotonic()
                self.beat()
                if not stream_control().enabled or sorted(self.products()) != products:
                    session_stop.set()
