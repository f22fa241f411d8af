"""Parameter sweeps: every combination of a grid, on all cores, ranked, with a walk-forward split.

``--grid "rsi.period=7,14,21"`` sets ``signal_config.rsi.period``; a key
without a dot is a bot setting (``buy_threshold=0.2,0.3``). Each combination
is validated like a bot (``bots.config``); one that does not validate is
reported with the reason, not run.

With a train fraction, combinations are ranked on the first part of the span
and then run, untouched, on the rest (fresh wallet, indicators warmed on the
data before it): whether the best parameters hold up on data they were not
chosen on is then plain to see.

Runs go to worker processes forked from this one (they inherit the data and
the compiled loop); each worker keeps a memo of signal scores, so
combinations that share a signal's parameters compute it once.
"""

from __future__ import annotations

import copy
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import product as cartesian
from multiprocessing import get_context
from typing import Any

from bots.config import ConfigError, bot_config_from_values
from trading.backtest.engine import BacktestData, BacktestError, ScoreMemo, run

# Ranking direction: higher is better except for the drawdown.
LOWER_IS_BETTER = {"max_drawdown", "max_drawdown_value", "max_drawdown_duration_seconds"}
RANKABLE = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "profit_factor",
    "win_rate",
    "average_trade",
    "max_drawdown",
    "trades",
)


class GridError(ValueError):
    """A --grid option that cannot be read; the message names it."""


@dataclass(frozen=True)
class SweepRow:
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)  # on the whole span, or the training part
    test: dict[str, Any] | None = None  # on the held-out part, with a train fraction
    error: str = ""


def parse_grid(specs: list[str]) -> list[tuple[str, list[Any]]]:
    """``["rsi.period=7,14,21", ...]`` -> ``[("rsi.period", [7, 14, 21]), ...]``."""
    axes: list[tuple[str, list[Any]]] = []
    for spec in specs:
        key, sep, raw = spec.partition("=")
        key = key.strip()
        values = [_value(v.strip()) for v in raw.split(",") if v.strip()]
        if not sep or not key or not values:
            raise GridError(f"--grid {spec!r}: expected KEY=V1,V2,... such as rsi.period=7,14,21")
        if any(k == key for k, _ in axes):
            raise GridError(f"--grid {key} is given twice")
        axes.append((key, values))
    return axes


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def with_params(values: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of bot ``values`` with each ``signal.param`` or bot setting of ``params`` set."""
    out = copy.deepcopy(values)
    for key, value in params.items():
        if "." in key:
            signal, _, name = key.partition(".")
            out.setdefault("signal_config", {}).setdefault(signal, {})[name] = value
        else:
            out[key] = value
    return out


def combinations(axes: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    keys = [k for k, _ in axes]
    return [dict(zip(keys, combo)) for combo in cartesian(*(v for _, v in axes))]


def rank(rows: list[SweepRow], metric: str) -> list[SweepRow]:
    """Best first by ``metric`` (on the training part when split); errors and missing values last."""
    sign = 1 if metric in LOWER_IS_BETTER else -1

    def key(row: SweepRow) -> tuple[int, float]:
        value = row.metrics.get(metric)
        return (1, 0.0) if value is None or row.error else (0, sign * float(value))

    return sorted(rows, key=key)


def split_index(first: int, last: int, train_fraction: float) -> int:
    """The candle where the held-out part starts; both parts keep at least one decision."""
    if not 0 < train_fraction < 1:
        raise GridError(f"the train fraction must be between 0 and 1, got {train_fraction}")
    split = first + round((last - first) * train_fraction)
    if not first < split < last:
        raise GridError("too few candles to split into a training and a test part")
    return split


# --- running ---------------------------------------------------------------------
_JOB: dict[str, Any] = {}  # what forked workers inherit: the data and the combinations
_MEMO: ScoreMemo = {}


def sweep(
    values: dict[str, Any],
    data: BacktestData,
    axes: list[tuple[str, list[Any]]],
    *,
    rank_by: str = "sharpe",
    train_fraction: float | None = None,
    first: int = 0,
    workers: int | None = None,
) -> list[SweepRow]:
    """Run every combination of ``axes`` over ``data`` and rank them by ``rank_by``."""
    if rank_by not in RANKABLE:
        raise GridError(f"cannot rank by {rank_by!r}; choose one of {', '.join(RANKABLE)}")
    last = len(data) - 1
    split = split_index(first, last, train_fraction) if train_fraction is not None else None
    combos = combinations(axes)
    _JOB.update(values=values, data=data, combos=combos, first=first, last=last, split=split)
    try:
        rows = [_run_one(0)]  # in this process first: compiles the loop before the workers fork
        workers = min(workers or os.cpu_count() or 1, len(combos) - 1)
        if workers > 1:
            # The forked workers compute on memory only and never touch the database;
            # they end with os._exit, so the parent's inherited connections stay intact
            # (closing them here would break a caller's open transaction).
            chunk = math.ceil((len(combos) - 1) / workers)
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
                rows += list(pool.map(_run_one, range(1, len(combos)), chunksize=chunk))
        else:
            rows += [_run_one(i) for i in range(1, len(combos))]
    finally:
        _JOB.clear()
        _MEMO.clear()
    return rank(rows, rank_by)


def _run_one(index: int) -> SweepRow:
    job = _JOB
    params = job["combos"][index]
    try:
        config = bot_config_from_values(with_params(job["values"], params))
    except ConfigError as exc:
        return SweepRow(params, error=str(exc))
    data, first, last, split = job["data"], job["first"], job["last"], job["split"]
    try:
        if split is None:
            return SweepRow(params, run(config, data, first=first, last=last, memo=_MEMO).metrics)
        train = run(config, data, first=first, last=split, memo=_MEMO).metrics
        test = run(config, data, first=split, last=last, memo=_MEMO).metrics
    except BacktestError as exc:
        return SweepRow(params, error=str(exc))
    return SweepRow(params, train, test)
