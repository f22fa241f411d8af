"""Two processes share one Redis cache: bot count and process count cost no extra upstream calls."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis); CI sets it"),
]
ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_share_entries_and_counters(sim):
    from django.core.cache import cache

    from market.cache import CachedMarketData

    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.clear()
    steps = 120  # 10 minutes of market time, every 5 s
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "autotrader.settings_test"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.market.cache_worker", f"p{i}", "10", str(steps)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert out.strip().endswith("done")
        assert p.returncode == 0, err[-2000:]
    stats = CachedMarketData(sim).stats()  # the shared counters of both processes
    reads = 2 * 10 * steps
    assert stats["hits"] + stats["misses"] + stats["stale_served"] == reads
    # 3 pairs, one upstream request per pair per 30 s TTL window (or per new 5-minute candle), plus start-up.
    windows = steps * 5 // 30
    assert stats["upstream_calls"] <= 3 * (windows + 1) + 3
    assert stats["hit_rate"] >= 0.95
