"""Stream tickers for the pairs of running bots into the cache (Coinbase WebSocket or the simulated market).

A bots command, not a market one: the market stream knows no bots; this names the pairs to follow.
"""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from bots.models import Bot
from market.services import get_market_data
from market.stream import CoinbaseFeed, SimulatedFeed, StreamRunner


def running_pairs() -> list[str]:
    return sorted(set(Bot.objects.filter(status=Bot.Status.RUNNING).values_list("product_id", flat=True)))


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        market = get_market_data()
        if settings.MARKET_DATA == "coinbase":
            feed = CoinbaseFeed(settings.COINBASE_WS_URL)
        else:
            feed = SimulatedFeed(market.source, every=1.0)
        runner = StreamRunner(feed=feed, market=market, products=running_pairs, source=market.name)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"market_stream: {market.name} tickers for the running bots' pairs")
        runner.run(stop)
