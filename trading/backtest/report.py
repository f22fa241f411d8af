"""Readable tables of a backtest and of a sweep, for the terminal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trading.backtest.result import BacktestResult
from trading.backtest.sweep import LOWER_IS_BETTER, SweepRow

ROWS = (
    ("Total return", "total_return", "pct"),
    ("Buy and hold", "buy_and_hold_return", "pct"),
    ("CAGR", "cagr", "pct"),
    ("Max drawdown", "max_drawdown", "share"),
    ("Max drawdown (quote)", "max_drawdown_value", "num"),
    ("Max drawdown duration", "max_drawdown_duration_seconds", "duration"),
    ("Sharpe", "sharpe", "num"),
    ("Sortino", "sortino", "num"),
    ("Calmar", "calmar", "num"),
    ("Trades (round trips)", "trades", "int"),
    ("Win rate", "win_rate", "share"),
    ("Profit factor", "profit_factor", "num"),
    ("Average trade", "average_trade", "num"),
    ("Average trade %", "average_trade_pct", "pct"),
    ("Best trade", "best_trade", "num"),
    ("Worst trade", "worst_trade", "num"),
    ("Exposure", "exposure", "share"),
    ("Fills", "fills", "int"),
    ("Rejected orders", "rejected_orders", "int"),
    ("Fees paid", "fees_paid", "str"),
    ("Final equity", "final_equity", "num"),
    ("Open position", "open_position", "str"),
)


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{float(value) * 100:+.2f}%"
    if kind == "share":
        return f"{float(value) * 100:.2f}%"
    if kind == "duration":
        return str(timedelta(seconds=int(value)))
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num":
        return f"{float(value):,.4f}"
    return str(value)


def _rate(rate) -> str:
    return f"{(rate * 100).normalize():f}%"


def summary(result: BacktestResult, *, name: str, source: str, trades: int = 10) -> str:
    s, m = result.settings, result.metrics
    lines = [
        f"{name} on {result.product.product_id} {result.config.granularity.short}: "
        f"{result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC, "
        f"{result.last - result.first + 1:,} candles ({source})",
        f"starting balance {s.starting_balance} {result.product.quote_currency}, "
        f"fee {_rate(s.fee_rate)}, slippage {_rate(s.slippage_rate)}, spread {_rate(s.spread_rate)}",
        "",
    ]
    width = max(len(label) for label, _, _ in ROWS)
    lines += [f"  {label:<{width}}  {fmt(m.get(key), kind):>16}" for label, key, kind in ROWS]
    skips = ", ".join(f"{code} {count:,}" for code, count in result.skips().items() if count)
    lines += ["", f"  decisions: {skips}"]
    trips = result.round_trips()
    if trips and trades:
        lines += ["", f"  last {min(trades, len(trips))} of {len(trips)} round trips:"]
        lines.append(
            f"  {'entry':<17} {'exit':<17} {'entry price':>14} {'exit price':>14} {'size':>14} "
            f"{'fees':>10} {'P&L':>12} {'P&L %':>8}"
        )
        for t in trips[-trades:]:
            exit_time = f"{t.exit_time:%Y-%m-%d %H:%M}" if t.exit_time else "open"
            lines.append(
                f"  {t.entry_time:%Y-%m-%d %H:%M} {exit_time:<17} {t.entry_price:>14} "
                f"{t.exit_price or '-'!s:>14} {t.size:>14} {t.fees:>10.4f} {t.pnl:>12.4f} {t.pnl_pct * 100:>+7.2f}%"
            )
    return "\n".join(lines)


def sweep_table(rows: list[SweepRow], *, rank_by: str, top: int, split: bool) -> str:
    kind = {"total_return": "pct", "cagr": "pct", "max_drawdown": "share", "win_rate": "share"}.get(rank_by, "num")
    head = f"  {'#':>3}  {'parameters':<48} {rank_by:>14}"
    if split:
        head = f"  {'#':>3}  {'parameters':<48} {rank_by + ' (train)':>16} {rank_by + ' (test)':>16}"
    head += f" {'return':>10} {'trades':>7}"
    lines = [head]
    for i, row in enumerate(rows[:top], start=1):
        params = ", ".join(f"{k}={v}" for k, v in row.params.items())
        if row.error:
            lines.append(f"  {i:>3}  {params:<48} invalid: {row.error}")
            continue
        shown = row.test if split and row.test else row.metrics
        cells = f"{fmt(row.metrics.get(rank_by), kind):>14}"
        if split:
            cells = f"{fmt(row.metrics.get(rank_by), kind):>16} {fmt((row.test or {}).get(rank_by), kind):>16}"
        lines.append(
            f"  {i:>3}  {params:<48} {cells} {fmt(shown.get('total_return'), 'pct'):>10} "
            f"{fmt(shown.get('trades'), 'int'):>7}"
        )
    if split and rows and rows[0].test is not None:
        best = rows[0]
        lines += [
            "",
            f"  best on the training part: {', '.join(f'{k}={v}' for k, v in best.params.items())}; "
            f"held-out {rank_by} {fmt(best.test.get(rank_by), kind)} "
            f"(training {fmt(best.metrics.get(rank_by), kind)}), "
            f"rank {_test_rank(rows, rank_by)} of {len([r for r in rows if not r.error])} on the held-out part",
        ]
    return "\n".join(lines)


def _test_rank(rows: list[SweepRow], metric: str) -> int:
    sign = 1 if metric in LOWER_IS_BETTER else -1
    valid = [r for r in rows if not r.error and r.test and r.test.get(metric) is not None]
    ordered = sorted(valid, key=lambda r: sign * float(r.test[metric]))
    return ordered.index(rows[0]) + 1 if rows[0] in ordered else len(valid)
