"""The market stream: tickers into the cache, state in a heartbeat, reconnects, the on/off switch."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from websockets.sync.server import serve

from market.models import Heartbeat
from market.stream import (
    CoinbaseFeed,
    SimulatedFeed,
    StreamRunner,
    parse_ticker_message,
    stream_set_enabled,
    stream_status,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ticker_message(product_id: str, price: str, bid: str, ask: str) -> str:
    return json.dumps(
        {
            "channel": "ticker",
            "client_id": "",
            "timestamp": "2026-01-01T00:00:00.000000Z",
            "sequence_num": 1,
            "events": [
                {
                    "type": "update",
                    "tickers": [
                        {
                            "type": "ticker",
                            "product_id": product_id,
                            "price": price,
                            "volume_24_h": "1000.5",
                            "best_bid": bid,
                            "best_bid_quantity": "0.5",
                            "best_ask": ask,
                            "best_ask_quantity": "0.4",
                        }
                    ],
                }
            ],
        }
    )


def test_parse_ticker_message():
    [t] = parse_ticker_message(ticker_message("BTC-USD", "95000.12", "95000.00", "95000.50"), NOW)
    assert (t.product_id, t.price, t.bid, t.ask, t.time) == (
        "BTC-USD",
        Decimal("95000.12"),
        Decimal("95000.00"),
        Decimal("95000.50"),
        NOW,
    )


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        json.dumps({"channel": "heartbeats", "events": [{"current_time": "x"}]}),
        ticker_message("BTC-USD", "NaN", "1", "2"),
        ticker_message("BTC-USD", "-5", "1", "2"),
        json.dumps({"channel": "ticker", "events": [{"tickers": [{"product_id": "BTC-USD"}]}]}),
    ],
)
def test_junk_messages_give_no_ticker(raw):
    assert parse_ticker_message(raw, NOW) == []


def run_for(runner: StreamRunner, seconds: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), kwargs={"max_backoff": 0.2}, daemon=True)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_simulated_stream_fills_the_cache(market, sim):
    runner = StreamRunner(
        feed=SimulatedFeed(sim, every=0.05), market=market, products=lambda: ["BTC-USD"], source="simulated"
    )
    market.stats_reset()
    run_for(runner, 0.5)
    assert runner.state.messages >= 3
    calls_before = market.stats()["upstream_calls"]
    assert market.ticker("BTC-USD").price == sim.ticker("BTC-USD").price
    assert market.stats()["upstream_calls"] == calls_before  # served from what the stream wrote
    beat = Heartbeat.objects.get(role="stream")
    assert beat.info["products"] == ["BTC-USD"] and beat.info["messages"] >= 3


@pytest.mark.django_db(transaction=True)
def test_disabled_stream_idles(market, sim):
    stream_set_enabled(enabled=False)
    runner = StreamRunner(
        feed=SimulatedFeed(sim, every=0.05), market=market, products=lambda: ["BTC-USD"], source="simulated"
    )
    run_for(runner, 0.3)
    assert runner.state.messages == 0
    status = stream_status()
    assert status["enabled"] is False and status["connected"] is False and status["process_alive"]


class FakeTickerServer:
    """A local WebSocket server speaking Coinbase's ticker channel; drops the first connection."""

    def __init__(self):
        self.subscriptions = []
        self.connections = 0
        self.server = serve(self.handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, ws):
        self.connections += 1
        first = self.connections == 1
        self.subscriptions.append(json.loads(ws.recv()))
        threading.Thread(target=self.read_rest, args=(ws,), daemon=True).start()
        for i in range(3):
            ws.send(ticker_message("ETH-USD", f"{3000 + i}.5", f"{3000 + i}.0", f"{3000 + i}.9"))
            time.sleep(0.02)
        if first:
            return  # drop the connection: the client must reconnect
        while True:
            time.sleep(0.05)
            ws.send(json.dumps({"channel": "heartbeats", "events": [{"current_time": "now"}]}))

    def read_rest(self, ws):
        try:
            for message in ws:
                self.subscriptions.append(json.loads(message))
        except Exception:  # the connection closed
            return

    def close(self):
        self.server.shutdown()


@pytest.mark.django_db(transaction=True)
def test_coinbase_feed_subscribes_writes_tickers_and_reconnects(market):
    server = FakeTickerServer()
    try:
        runner = StreamRunner(
            feed=CoinbaseFeed(server.url, idle_timeout=5),
            market=market,
            products=lambda: ["ETH-USD"],
            source="coinbase",
        )
        run_for(runner, 2.5)
    finally:
        server.close()
    assert server.connections >= 2 and runner.state.reconnects >= 1
    sub = server.subscriptions[0]
    assert sub["type"] == "subscribe" and sub["product_ids"] == ["ETH-USD"]
    assert {s["channel"] for s in server.subscriptions} >= {"ticker", "heartbeats"}
    assert "jwt" not in sub  # public channels: no credentials sent
    assert market.ticker("ETH-USD").price == Decimal("3002.5")
