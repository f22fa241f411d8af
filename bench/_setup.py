"""Shared set-up for benchmarks: a throwaway data directory and Django."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup(*, database_url: str | None = None) -> Path:
    """Configure Django on a fresh SQLite file (or ``database_url``) and migrate it."""
    sys.path.insert(0, str(ROOT))
    data = Path(tempfile.mkdtemp(prefix="autotrader-bench-"))
    os.environ["DATA_DIR"] = str(data)
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autotrader.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    return data


def report(name: str, value: float, target: float, unit: str, *, lower_is_better: bool = True) -> bool:
    ok = value <= target if lower_is_better else value >= target
    ratio = value / target if target else float("inf")
    verdict = "PASS" if ok else "FAIL"
    print(
        f"{name}: {value:.3f} {unit} (target {'<=' if lower_is_better else '>='} {target} {unit}, "
        f"ratio {ratio:.2f}) {verdict}"
    )
    return ok
