"""Backtest a bot (--bot ID) or a config file (--config FILE.json) over stored candles or a CSV.

Examples:
  manage.py backtest --bot 1 --start 2026-01-01 --end 2026-02-01 --chart run.html
  manage.py backtest --config bot.json --csv BTC-USD_5m.csv.gz --json run.json
  manage.py backtest --bot 1 --csv data.csv --grid rsi.period=7,14,21 --grid moving_average.fast_period=5,10
                     --rank-by sharpe --train-fraction 0.7
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from trading.backtest import BacktestData, BacktestError, BacktestSettings, run
from trading.backtest.chart import write_chart
from trading.backtest.report import summary, sweep_table
from trading.backtest.services import (
    backtest_run_save,
    load_candles,
    product_spec,
    subject_from_bot,
    subject_from_file,
    sweep_row_dict,
    unsettled,
    validate,
)
from trading.backtest.sweep import RANKABLE, GridError, parse_grid, sweep, with_params


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--bot", type=int, help="id of the bot whose settings to test")
        what.add_argument("--config", help="JSON file of bot settings (signal_config, thresholds, limits...)")
        parser.add_argument("--csv", help="candles from a CSV (time, open, high, low, close, volume; .gz ok)")
        parser.add_argument("--product", help="trading pair (default: the bot's, the config's, or BTC-USD)")
        parser.add_argument("--granularity", help="candle size, e.g. 5m (default: the bot's)")
        parser.add_argument("--start", type=_when, help="first candle to trade on (ISO date or time, UTC)")
        parser.add_argument("--end", type=_when, help="end of the data (exclusive)")
        parser.add_argument("--simulated", action="store_true", help="candles from the simulated market")
        parser.add_argument("--balance", type=_decimal, default=Decimal("1000"), help="starting quote balance")
        parser.add_argument("--fee", type=_decimal, default=None, help="taker fee rate (default PAPER_FEE_RATE)")
        parser.add_argument("--slippage", type=_decimal, default=None, help="slippage rate (PAPER_SLIPPAGE_RATE)")
        parser.add_argument("--spread", type=_decimal, default=Decimal("0"), help="bid-ask spread rate")
        parser.add_argument("--json", dest="json_path", help="write the results as JSON to this file (- for stdout)")
        parser.add_argument("--chart", help="write a chart to this .html file")
        parser.add_argument("--trades", type=int, default=10, help="round trips to list in the table")
        parser.add_argument("--no-save", action="store_true", help="do not store a BacktestRun")
        parser.add_argument("--grid", action="append", default=[], help="sweep KEY=V1,V2 (repeatable)")
        parser.add_argument("--rank-by", default="sharpe", choices=RANKABLE, help="metric ranking a sweep")
        parser.add_argument("--train-fraction", type=float, help="rank on this share, test on the rest")
        parser.add_argument("--workers", type=int, help="processes for a sweep (default: all cores)")
        parser.add_argument("--top", type=int, default=20, help="sweep rows to print")

    def handle(self, *args, **o) -> None:
        try:
            self._handle(o)
        except (BacktestError, GridError) as exc:
            raise CommandError(str(exc)) from None

    def _handle(self, o: dict) -> None:
        subject = subject_from_bot(o["bot"]) if o["bot"] is not None else subject_from_file(o["config"])
        values = dict(subject.values)
        if o["granularity"]:
            values["granularity"] = o["granularity"]
        config = validate(values)
        for warning in unsettled(config):
            self.stderr.write(self.style.WARNING(warning))
        product = product_spec((o["product"] or subject.product_id or "BTC-USD").upper())
        candles, first, source = load_candles(
            csv=o["csv"],
            product_id=product.product_id,
            granularity=config.granularity,
            start=o["start"],
            end=o["end"],
            warmup=config.history_needed,
            simulated=o["simulated"],
        )
        backtest_settings = BacktestSettings(
            starting_balance=o["balance"],
            fee_rate=o["fee"] if o["fee"] is not None else Decimal(settings.PAPER_FEE_RATE),
            slippage_rate=o["slippage"] if o["slippage"] is not None else Decimal(settings.PAPER_SLIPPAGE_RATE),
            spread_rate=o["spread"],
            max_failures=settings.MAX_CONSECUTIVE_FAILURES,
        )
        data = BacktestData(candles, product, config.granularity, backtest_settings)
        rows = None
        if o["grid"]:
            axes = parse_grid(o["grid"])
            rows = sweep(
                values,
                data,
                axes,
                rank_by=o["rank_by"],
                train_fraction=o["train_fraction"],
                first=first,
                workers=o["workers"],
            )
            self.stdout.write(f"{len(rows)} combinations of {subject.name}, ranked by {o['rank_by']}:")
            split = o["train_fraction"] is not None
            self.stdout.write(sweep_table(rows, rank_by=o["rank_by"], top=o["top"], split=split))
            best = next((r for r in rows if not r.error), None)
            if best is None:
                raise BacktestError("no combination of the grid is a valid bot")
            values = with_params(values, best.params)
            config = validate(values)
            chosen = ", ".join(f"{k}={v}" for k, v in best.params.items())
            self.stdout.write(f"\nthe best combination ({chosen}) over the whole span:\n")
        result = run(config, data, first=first)
        if o["json_path"] != "-":
            self.stdout.write(summary(result, name=subject.name, source=source, trades=o["trades"]))
        if o["json_path"]:
            payload = {"name": subject.name, "source": source, "config": values, **result.as_dict()}
            if rows is not None:
                payload["sweep"] = [sweep_row_dict(r) for r in rows]
            text = json.dumps(payload, indent=2, default=str)
            if o["json_path"] == "-":
                self.stdout.write(text)
            else:
                with open(o["json_path"], "w", encoding="utf-8") as f:
                    f.write(text + "\n")
        if o["chart"]:
            try:
                self.stdout.write(f"chart: {write_chart(result, o['chart'])}")
            except ValueError as exc:
                raise BacktestError(str(exc)) from None
        if not o["no_save"]:
            saved = backtest_run_save(subject=subject, result=result, source=source, sweep=rows, config=values)
            self.stdout.write(self.style.SUCCESS(f"saved as BacktestRun {saved.pk}"))


def _when(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date or time: {text}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {text}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text}")
    return value
