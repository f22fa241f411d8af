"""Backtests started from the dashboard: run by a django-q2 worker, followed through the cache.

A ``BacktestRun`` row exists only once a run has finished (the backtester's
``backtest_run_save``), so until then a job lives in the shared cache under
its id: the step it is on and, at the end, the run's id or why it failed. The
task may be delivered twice (at-least-once): a claim in the cache lets one
delivery run it, and a finished job is never run again.

The backtest itself is the backtester's, called the way ``manage.py backtest``
calls it (``trading.backtest.services``); nothing here decides or fills.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from trading.models import BacktestRun

log = logging.getLogger(__name__)

JOB_TTL_SECONDS = 24 * 3600
CLAIM_SECONDS = 600
CHART_TTL_SECONDS = 7 * 24 * 3600
MAX_CHART_POINTS = 5000
MAX_CHART_MARKERS = 1500
RECENT_KEY = "backtest-jobs:recent"
RECENT_LIMIT = 10
SIMULATED, STORED = "simulated", "stored"
# How far along each step is, for the progress bar (the compiled loop itself reports nothing).
PROGRESS = {"queued": 0.05, "loading": 0.25, "running": 0.55, "saving": 0.9, "done": 1.0, "failed": 1.0}
STEP_LABELS = {
    "queued": "waiting for a worker",
    "loading": "loading candles",
    "running": "running the backtest",
    "saving": "saving the results",
    "done": "finished",
    "failed": "failed",
}


@dataclass(frozen=True)
class BacktestJob:
    id: str
    state: str
    name: str
    product_id: str
    granularity: str
    start: datetime
    end: datetime
    source: str
    queued_at: float
    updated_at: float
    run_id: int | None = None
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def progress(self) -> float:
        return PROGRESS.get(self.state, 0.0)

    @property
    def step(self) -> str:
        return STEP_LABELS.get(self.state, self.state)

    @property
    def waited_seconds(self) -> float:
        return time.time() - self.queued_at


def _key(job_id: str) -> str:
    return f"backtest-job:{job_id}"


def _chart_key(run_id: int) -> str:
    return f"backtest-chart:{run_id}"


def backtest_job_get(*, job_id: str) -> BacktestJob | None:
    state = cache.get(_key(job_id))
    if state is None:
        return None
    fields = {k: v for k, v in state.items() if k in BacktestJob.__dataclass_fields__}
    return BacktestJob(**fields)


def _update(job_id: str, **changes: Any) -> dict[str, Any]:
    state = {**cache.get(_key(job_id), {}), **changes, "updated_at": time.time()}
    cache.set(_key(job_id), state, JOB_TTL_SECONDS)
    return state


def backtest_job_start(
    *,
    name: str,
    values: dict[str, Any],
    product_id: str,
    start: datetime,
    end: datetime,
    source: str,
    starting_balance: Decimal,
    bot_id: int | None = None,
) -> BacktestJob:
    """Queue a backtest of ``values`` (bot settings) on ``product_id`` from ``start`` to ``end``."""
    from django_q.tasks import async_task

    if source not in (SIMULATED, STORED):
        raise ValueError(f"unknown candle source {source!r}")
    job_id = uuid.uuid4().hex
    now = time.time()
    cache.set(
        _key(job_id),
        {
            "id": job_id,
            "state": "queued",
            "name": name,
            "product_id": product_id,
            "granularity": str(values.get("granularity", "")),
            "start": start,
            "end": end,
            "source": source,
            "queued_at": now,
            "updated_at": now,
            "bot_id": bot_id,
            "values": values,
            "starting_balance": str(starting_balance),
        },
        JOB_TTL_SECONDS,
    )
    cache.set(RECENT_KEY, [job_id, *cache.get(RECENT_KEY, [])][:RECENT_LIMIT], JOB_TTL_SECONDS)
    transaction.on_commit(lambda: async_task("trading.backtest_jobs.backtest_job_run", job_id))
    return backtest_job_get(job_id=job_id)


def backtest_job_run(job_id: str) -> int | None:
    """The task: run the queued backtest and save it; returns the BacktestRun id (None when it failed)."""
    state = cache.get(_key(job_id))
    if state is None:
        log.warning("backtest job %s expired before it ran", job_id)
        return None
    if state["state"] == "done" or not cache.add(f"{_key(job_id)}:claim", 1, CLAIM_SECONDS):
        return state.get("run_id")
    try:
        run = _run(job_id, state)
    except Exception as exc:  # reported on the job's page; the worker carries on
        log.exception("backtest job %s failed", job_id)
        _update(job_id, state="failed", error=f"{type(exc).__name__}: {exc}" if not _expected(exc) else str(exc))
        return None
    _update(job_id, state="done", run_id=run.pk)
    return run.pk


def _expected(exc: Exception) -> bool:
    from trading.backtest import BacktestError
    from trading.backtest.data import DataError

    return isinstance(exc, BacktestError | DataError)


def _settings(starting_balance: Decimal, fee: Decimal | None = None, slippage: Decimal | None = None):
    from trading.backtest import BacktestSettings

    return BacktestSettings(
        starting_balance=starting_balance,
        fee_rate=Decimal(settings.PAPER_FEE_RATE) if fee is None else fee,
        slippage_rate=Decimal(settings.PAPER_SLIPPAGE_RATE) if slippage is None else slippage,
    )


def _run(job_id: str, state: dict[str, Any]) -> BacktestRun:
    from bots.models import Bot
    from trading.backtest import BacktestData, run
    from trading.backtest.services import Subject, backtest_run_save, load_candles, product_spec, validate

    values = state["values"]
    config = validate(values)
    product = product_spec(state["product_id"])
    _update(job_id, state="loading")
    candles, first, source = load_candles(
        csv=None,
        product_id=product.product_id,
        granularity=config.granularity,
        start=state["start"],
        end=state["end"],
        warmup=config.history_needed,
        simulated=state["source"] == SIMULATED,
    )
    _update(job_id, state="running")
    data = BacktestData(candles, product, config.granularity, _settings(Decimal(state["starting_balance"])))
    result = run(config, data, first=first)
    _update(job_id, state="saving")
    bot = Bot.objects.filter(pk=state.get("bot_id")).first() if state.get("bot_id") else None
    subject = Subject(state["name"], values, product.product_id, bot)
    saved = backtest_run_save(subject=subject, result=result, source=source, config=values)
    cache.set(_chart_key(saved.pk), chart_data(result, data), CHART_TTL_SECONDS)
    return saved


# --- the chart of a stored run ---------------------------------------------------
def _thin(n: int, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` evenly spread points of ``n``, the last one always kept."""
    if n <= limit:
        return np.arange(n)
    picked = np.linspace(0, n - 1, limit).astype(np.int64)
    return np.unique(picked)


def chart_data(result, data) -> dict[str, Any]:
    """Price with fills, equity against buy-and-hold, and drawdown, as the dashboard's chart reads them."""
    span = result.span
    times = result.times[span].astype(np.int64)
    close = result.close[span]
    equity = result.equity[span]
    hold = result.buy_and_hold
    peak = np.maximum.accumulate(equity)
    drawdown = np.where(peak > 0, equity / peak - 1, 0.0) * 100
    keep = _thin(len(times), MAX_CHART_POINTS)

    def line(values: np.ndarray) -> list[dict[str, float]]:
        return [{"time": int(times[i]), "value": round(float(values[i]), 8)} for i in keep]

    drawn = times[keep]
    last = int(drawn[-1])

    def snap(t: datetime) -> int:
        # A fill happens at the open after its decision candle: pinned to the drawn point at or before it.
        return int(drawn[np.searchsorted(drawn, min(int(t.timestamp()), last), "right") - 1])

    fills = result.fills()
    step = max(1, len(fills) // MAX_CHART_MARKERS)
    markers = [
        {"time": snap(f.time), "side": f.side.value, "price": str(f.price), "size": f"{f.size.normalize():f}"}
        for f in fills[::step]
    ]
    return {
        "product_id": result.product.product_id,
        "granularity": result.config.granularity.short,
        "price_decimals": max(0, -int(result.product.price_increment.normalize().as_tuple().exponent)),
        "total_return": result.metrics["total_return"],
        "lines": {
            "close": line(close),
            "equity": line(equity),
            "buy_and_hold": line(hold),
            "drawdown": line(drawdown),
        },
        "markers": markers,
    }


def backtest_chart(*, run: BacktestRun) -> dict[str, Any]:
    """The run's chart data: kept from when the dashboard ran it, or recomputed from its stored settings.

    A run started with ``manage.py backtest`` has only its summary stored, so
    its curves are recomputed from the same settings and candles (a CSV that
    is gone cannot be). A recomputed total return that differs from the stored
    one (new candles stored since) is flagged rather than hidden.
    """
    cached = cache.get(_chart_key(run.pk))
    if cached is not None:
        return cached
    from trading.backtest import BacktestData
    from trading.backtest import run as backtest
    from trading.backtest.services import load_candles, product_spec, validate

    if run.source.startswith("csv:"):
        return {"error": "this run read a CSV file; its curves are not kept, so they cannot be redrawn here"}
    config = validate(run.config)
    g = config.granularity.delta
    # The run's start is the close of its first decision candle and its end the close of the last one.
    candles, first, _ = load_candles(
        csv=None,
        product_id=run.product_id,
        granularity=config.granularity,
        start=run.start - g,
        end=run.end,
        warmup=config.history_needed,
        simulated=run.source == "simulated market",
    )
    settings_ = _settings(run.starting_balance, run.fee_rate, run.slippage_rate)
    data = BacktestData(candles, product_spec(run.product_id), config.granularity, settings_)
    chart = chart_data(backtest(config, data, first=first), data)
    if run.total_return is not None and abs(chart["total_return"] - run.total_return) > 1e-9:
        chart["note"] = (
            f"redrawn from the candles stored now: return {chart['total_return']:+.2%}, stored {run.total_return:+.2%}"
        )
    cache.set(_chart_key(run.pk), chart, CHART_TTL_SECONDS)
    return chart


def default_span(*, now: datetime, days: int = 7) -> tuple[datetime, datetime]:
    """The form's default span: the last ``days`` days to the last full hour."""
    end = now.replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=days), end


def backtest_jobs_recent() -> list[BacktestJob]:
    """The dashboard's latest jobs, newest first (finished ones until their entry expires)."""
    jobs = (backtest_job_get(job_id=job_id) for job_id in cache.get(RECENT_KEY, []))
    return [job for job in jobs if job is not None]
