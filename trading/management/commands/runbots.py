"""The ticker: evaluate every running bot every EVALUATION_INTERVAL_SECONDS."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from market.services import exchange_for, get_market_data, products_sync
from trading.live import live_preflight
from trading.runner import Runner
from trading.tasks import housekeeping_schedule


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=None, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="run one tick and exit")

    def handle(self, *args, interval: float | None, once: bool, **options) -> None:
        interval = interval or settings.EVALUATION_INTERVAL_SECONDS
        market = get_market_data()  # the simulated market resumes by itself after a stop (SimulatedClock)
        products_sync()
        housekeeping_schedule()
        for result in live_preflight(exchange_for=exchange_for, market=market, now=market.now()):
            style = self.style.WARNING if result.ok else self.style.ERROR
            self.stdout.write(style(f"{result.bot.name}: {result.message}"))
        runner = Runner(market=market, exchange_for=exchange_for, dispatch=settings.EVALUATION_DISPATCH)
        mode = settings.TRADING_MODE.upper()
        self.stdout.write(
            f"runbots: {mode} trading on {market.name} market data, every {interval:g} s, "
            f"evaluations {'on the task queue' if settings.EVALUATION_DISPATCH == 'queue' else 'in this process'}"
        )
        if once:
            report = runner.tick()
            self.stdout.write(
                f"tick at {report.market_time}: {len(report.results)} bots in {report.duration_ms:.0f} ms"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        runner.run(interval=interval, stop=stop)
        self.stdout.write("runbots stopped")
