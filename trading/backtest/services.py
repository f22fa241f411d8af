"""The Django side of a backtest: bots and config files in, BacktestRun rows out.

The command (``manage.py backtest``) stays a thin caller of these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from bots.config import BotConfig, ConfigError, bot_config_from_values
from bots.models import CONFIG_FIELDS, Bot
from market.types import Candles, Granularity, Product, UnknownProduct
from trading.backtest.data import candles_from_csv, candles_from_database, candles_from_simulation
from trading.backtest.engine import BacktestError
from trading.backtest.result import BacktestResult
from trading.backtest.sweep import SweepRow
from trading.models import BacktestRun


@dataclass(frozen=True)
class Subject:
    """What to backtest: a name, the bot settings and the pair."""

    name: str
    values: dict[str, Any]
    product_id: str | None
    bot: Bot | None = None


def subject_from_bot(bot_id: int) -> Subject:
    bot = Bot.objects.filter(pk=bot_id).first()
    if bot is None:
        raise BacktestError(f"no bot with id {bot_id}")
    return Subject(bot.name, _jsonable(bot.config_values()), bot.product_id, bot)


def subject_from_file(path: str | Path) -> Subject:
    """A JSON object of bot settings (any of the Bot's config fields), optionally with product_id."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BacktestError(f"{path}: {exc}") from None
    if not isinstance(raw, dict):
        raise BacktestError(f"{path}: expected a JSON object of bot settings")
    unknown = set(raw) - set(CONFIG_FIELDS) - {"product_id", "name"}
    if unknown:
        raise BacktestError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    values = {k: v for k, v in raw.items() if k in CONFIG_FIELDS}
    return Subject(str(raw.get("name", path.name)), values, raw.get("product_id"))


def validate(values: dict[str, Any]) -> BotConfig:
    """The BotConfig for ``values``, or a BacktestError naming each bad field."""
    try:
        return bot_config_from_values(values)
    except ConfigError as exc:
        raise BacktestError(f"invalid bot settings: {exc}") from None


def unsettled(config: BotConfig) -> list[str]:
    """Warnings for signals whose live window is too short to reach the values a backtest computes."""
    return [
        f"warning: {spec.name} needs {signal.min_candles() + signal.settle_candles():,} candles to forget where its "
        f"history starts, but a live bot reads {config.history_needed:,}: its live values can differ from these"
        for spec, signal in config.built
        if signal.min_candles() + signal.settle_candles() > config.history_needed
    ]


def product_spec(product_id: str) -> Product:
    """The pair's increments and minimums: as last synced from the market, else the simulated market's."""
    from market.models import Product as ProductRow
    from market.simulated import SimulatedMarket

    row = ProductRow.objects.filter(product_id=product_id).first()
    if row is not None:
        return row.to_spec()
    try:
        return SimulatedMarket(seed=0, epoch=datetime(2020, 1, 1, tzinfo=UTC), clock=None).product(product_id)
    except UnknownProduct as exc:
        raise BacktestError(str(exc)) from None


def load_candles(
    *,
    csv: str | None,
    product_id: str,
    granularity: Granularity,
    start: datetime | None,
    end: datetime | None,
    warmup: int,
    simulated: bool = False,
) -> tuple[Candles, int, str]:
    """(candles, index of the first candle to decide on, source description).

    From the database (or the simulated market) ``warmup`` candles before
    ``start`` are loaded as well, so the indicators have settled when the
    backtest begins.
    """
    if csv:
        candles = candles_from_csv(csv)
        source = f"csv:{csv}"
    else:
        if simulated and (start is None or end is None):
            raise BacktestError("the simulated market needs --start and --end")
        early = start - granularity.delta * warmup if start is not None else None
        if simulated:
            candles = candles_from_simulation(product_id, granularity, early, end)
            source = "simulated market"
        else:
            candles = candles_from_database(product_id, granularity, early, end)
            source = "stored candles"
        if len(candles) == 0:
            message = f"no {product_id} {granularity.short} candles in that span"
            if not simulated:
                message += f"; store some with manage.py fetch_candles {product_id} --granularity {granularity.short}"
            raise BacktestError(message)
    # A CSV is used whole: --start then only marks where trading begins.
    first = int(np.searchsorted(candles.time, start.timestamp(), side="left")) if start is not None else 0
    return candles, min(first, max(len(candles) - 2, 0)), source


def backtest_run_save(
    *,
    subject: Subject,
    result: BacktestResult,
    source: str,
    sweep: list[SweepRow] | None = None,
    config: dict[str, Any] | None = None,
) -> BacktestRun:
    """Store the run (and a sweep's ranking) for the admin."""
    m = result.metrics
    return BacktestRun.objects.create(
        name=subject.name[:200],
        bot=subject.bot,
        config=_jsonable(config if config is not None else subject.values),
        product_id=result.product.product_id,
        granularity=result.config.granularity.short,
        source=source[:500],
        start=result.start,
        end=result.end,
        candles=result.last - result.first + 1,
        starting_balance=result.settings.starting_balance,
        fee_rate=result.settings.fee_rate,
        slippage_rate=result.settings.slippage_rate,
        total_return=m["total_return"],
        buy_and_hold_return=m["buy_and_hold_return"],
        max_drawdown=m["max_drawdown"],
        sharpe=m["sharpe"],
        trades=m["trades"],
        metrics=m,
        trade_list=result.as_dict()["trades"],
        sweep=[sweep_row_dict(row) for row in sweep or []],
    )


def sweep_row_dict(row: SweepRow) -> dict[str, Any]:
    return {"params": row.params, "metrics": row.metrics, "test": row.test, "error": row.error}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(values, default=lambda v: str(v) if isinstance(v, Decimal) else repr(v)))
