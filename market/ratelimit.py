"""A request budget shared by every process through Django's cache.

Coinbase limits requests per second (public endpoints per IP, private ones
per key), so the budget must be shared by every process of the system, not
kept per process. Each wall-clock second has ``rate`` tokens, counted with
the cache's ``incr`` (atomic on Redis); a caller that finds the second spent
waits for the next one, up to ``max_wait``, then gives up with RateLimited.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.cache import BaseCache

from market.exchange import RateLimited


class TokenBucket:
    def __init__(
        self,
        cache: BaseCache,
        name: str,
        *,
        rate: int,
        max_wait: float = 2.0,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1 request per second")
        self.cache = cache
        self.name = name
        self.rate = rate
        self.max_wait = max_wait
        self.wall = wall
        self.sleep = sleep
        self.waits = 0

    def _take(self, second: int) -> bool:
        key = f"rl:{self.name}:{second}"
        if self.cache.add(key, 1, timeout=5):
            return True
        try:
            return self.cache.incr(key) <= self.rate
        except ValueError:  # expired between add and incr: a new second
            return self.cache.add(key, 1, timeout=5)

    def acquire(self) -> None:
        """Take one token, waiting for the next second if needed."""
        deadline = self.wall() + self.max_wait
        while True:
            now = self.wall()
            if self._take(int(now)):
                return
            wait = max(0.001, int(now) + 1 - now)
            if now + wait > deadline:
                raise RateLimited(f"local request budget of {self.rate}/s for {self.name} is spent")
            self.waits += 1
            self.sleep(wait)

    def used(self) -> int:
        """Tokens taken in the current second (for the dashboard)."""
        return int(self.cache.get(f"rl:{self.name}:{int(self.wall())}", 0))
