"""The ticker: every interval, evaluate every running bot once.

Exactly one ticker is active: it holds the ``ticker`` lease (a row claimed by
conditional update, renewed every tick, expiring after RUNNER_LEASE_SECONDS).
A second ``runbots`` started by mistake stands by and takes over when the
first stops renewing. Within a tick each bot is evaluated under its own lease.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from bots.models import ActivityEvent, Bot
from bots.services import activity_record
from market.exchange import Exchange, MarketData
from market.processes import heartbeat, process_name
from market.services import exchange_for_mode as market_exchange_for_mode
from market.services import refuse_live_on_simulated_prices
from trading.engine import TickContext, TickResult, bot_tick
from trading.models import Lease
from trading.services import orders_resolve_unresolved

log = logging.getLogger(__name__)
TICKER_LEASE = "ticker"


def lease_claim(name: str, owner: str, seconds: float) -> bool:
    """Claim or renew a lease; True when ``owner`` holds it afterwards."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    free = Q(owner="") | Q(until__lt=now) | Q(owner=owner) | Q(until__isnull=True)
    if Lease.objects.filter(free, name=name).update(owner=owner, until=until):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, owner=owner, until=until)
        return True
    except IntegrityError:
        return False


def lease_release(name: str, owner: str) -> None:
    Lease.objects.filter(name=name, owner=owner).update(owner="", until=None)


@dataclass
class TickReport:
    market_time: str
    duration_ms: float
    results: list[TickResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


class Runner:
    """Drives bot evaluations on a market's clock.

    ``exchange_for`` gives the exchange a bot's next order goes to;
    ``exchange_for_mode`` the exchange an earlier order went to (by the
    order's own mode), where its outcome is looked up.
    """

    def __init__(
        self,
        *,
        market: MarketData,
        exchange_for: Callable[[Bot], Exchange],
        owner: str | None = None,
        dispatch: str = "inline",
        exchange_for_mode: Callable[[str], Exchange] = market_exchange_for_mode,
    ):
        if dispatch not in ("inline", "queue"):
            raise ValueError(f"dispatch must be 'inline' or 'queue', got {dispatch!r}")
        refuse_live_on_simulated_prices()
        self.market = market
        self.exchange_for = exchange_for
        self.exchange_for_mode = exchange_for_mode
        self.owner = owner or process_name("ticker")
        self.dispatch = dispatch
        self._failure_reported = False  # the current run of failed ticks is in the activity feed

    def tick(self) -> TickReport:
        """One pass over every running bot at the market's current time."""
        started = time.perf_counter()
        now = self.market.now()
        orders_resolve_unresolved(exchange_for_mode=self.exchange_for_mode, now=now)
        bot_ids = list(Bot.objects.filter(status=Bot.Status.RUNNING).values_list("pk", flat=True))
        if self.dispatch == "queue":
            # Any number of qcluster workers on any hosts evaluate; the decision
            # time travels with the task, so a duplicate delivery is the same decision.
            # Successful evaluations are not stored as task results (save=False): the
            # bot row and the feed hold their outcome, and storing one row per bot per
            # tick made django-q2's single result saver the bottleneck (bench/load.py).
            from django_q.tasks import async_task

            results = []
            size = settings.EVALUATION_BATCH_SIZE
            for i in range(0, len(bot_ids), size):
                batch = bot_ids[i : i + size]
                async_task("trading.tasks.evaluate_bots", batch, now.isoformat(), group="evaluate", save=False)
                results += [TickResult(bot_id, "enqueued") for bot_id in batch]
        else:
            context = TickContext.load(bot_ids=bot_ids, now=now)
            results = [
                bot_tick(
                    bot_id,
                    market=self.market,
                    exchange_for=self.exchange_for,
                    now=now,
                    owner=self.owner,
                    context=context,
                )
                for bot_id in bot_ids
            ]
        report = TickReport(now.isoformat(), (time.perf_counter() - started) * 1000, results)
        heartbeat(
            "ticker",
            {
                "market_time": report.market_time,
                "tick_ms": round(report.duration_ms, 1),
                "bots": len(results),
                "ordered": report.count("ordered"),
                "errors": report.count("error"),
                "lease": True,
            },
        )
        return report

    def run(self, *, interval: float, stop: threading.Event, max_ticks: int | None = None) -> int:
        """Tick every ``interval`` seconds while holding the ticker lease.

        Survives its dependencies going away: a database or broker outage
        fails a tick (logged, reported on the heartbeat and once in the feed)
        and the loop tries again every interval until it comes back.
        """
        ticks = 0
        failures = 0
        lease_seconds = max(settings.RUNNER_LEASE_SECONDS, interval * 3)
        standing_by = False
        while not stop.is_set():
            started = time.monotonic()
            try:
                holding = lease_claim(TICKER_LEASE, self.owner, lease_seconds)
                if not holding:
                    if not standing_by:
                        holder = Lease.objects.filter(name=TICKER_LEASE).values_list("owner", flat=True).first()
                        log.warning("another ticker holds the lease (%s); standing by", holder)
                    standing_by, failures = True, 0
                    heartbeat("ticker", {"lease": False})
            except DatabaseError as exc:
                holding = False
                failures += 1
                log.error("the database is unavailable (%s); trying again in %g s", exc, interval)
                close_old_connections()  # drop the broken connection: the next try reconnects
            if holding:
                if standing_by:
                    log.info("%s took over the ticker lease", self.owner)
                standing_by = False
                try:
                    report = self.tick()
                    log.info(
                        "tick at %s: %d bots in %.0f ms (%d ordered, %d errors)",
                        report.market_time,
                        len(report.results),
                        report.duration_ms,
                        report.count("ordered"),
                        report.count("error"),
                    )
                    if failures:
                        self._report_recovery(failures)
                    failures, self._failure_reported = 0, False
                except Exception as exc:
                    failures += 1
                    if failures == 1:
                        log.exception("tick failed")
                    else:  # the traceback is in the log once per outage
                        log.error("tick failed again (%d in a row): %s: %s", failures, type(exc).__name__, exc)
                    self._report_failure(exc, failures, interval)
                ticks += 1
                if max_ticks is not None and ticks >= max_ticks:
                    break
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        try:
            lease_release(TICKER_LEASE, self.owner)
        except DatabaseError:
            log.warning("could not release the ticker lease; it expires in %g s", lease_seconds)
        return ticks

    def _report_failure(self, exc: Exception, failures: int, interval: float) -> None:
        """Say why ticks fail: on the heartbeat every time, in the activity feed once per outage."""
        error = f"{type(exc).__name__}: {exc}"[:300]
        try:
            heartbeat("ticker", {"lease": True, "error": error, "failed_ticks": failures})
            if not self._failure_reported:
                activity_record(
                    kind=ActivityEvent.Kind.SYSTEM,
                    level=ActivityEvent.Level.ERROR,
                    at=self.market.now(),
                    message=f"ticker {self.owner}: tick failed ({error}); retrying every {interval:g} s",
                )
                self._failure_reported = True
        except DatabaseError:
            close_old_connections()  # the database is what failed: the log line above is all we can do

    def _report_recovery(self, failures: int) -> None:
        activity_record(
            kind=ActivityEvent.Kind.SYSTEM,
            level=ActivityEvent.Level.WARNING,
            at=self.market.now(),
            message=f"ticker {self.owner}: ticking again after {failures} failed tick{'s' if failures > 1 else ''}",
        )
