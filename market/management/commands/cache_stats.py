"""Print the market-data cache's counters (every process's, shared through the cache)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from market.services import get_market_data


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reset", action="store_true", help="zero the counters afterwards")

    def handle(self, *args, reset: bool, **options) -> None:
        market = get_market_data()
        stats = market.stats()
        self.stdout.write(f"market data: {market.name}   TTL {market.ttl:g} s")
        self.stdout.write(f"hit rate:        {stats['hit_rate'] * 100:.1f} %")
        for name in ("hits", "misses", "stale_served", "upstream_calls", "rate_limited", "errors", "backoffs"):
            self.stdout.write(f"{name + ':':<17}{stats[name]}")
        limit = stats["rate_limit_per_second"]
        budget = f"{stats['rate_limit_used_this_second']}/{limit} this second" if limit else "no limit (local source)"
        self.stdout.write(f"request budget:  {budget}")
        if stats["backing_off"]:
            self.stdout.write(
                self.style.WARNING(
                    f"backing off:     {stats['backoff_seconds_left']:.1f} s left after "
                    f"{stats['consecutive_failures']} failure(s)"
                )
            )
        else:
            self.stdout.write("backing off:     no")
        if reset:
            market.stats_reset()
            self.stdout.write("counters reset")
