"""The backtest chart: one self-contained HTML file that opens offline.

Three panels drawn as inline SVG (no script, no network): the close with
every fill marked (buys ▲ under the price, sells ▼ over it), the equity
against buy-and-hold, and the drawdown. Long series are reduced to at most
``POINTS`` columns per line, keeping each column's low and high, so spikes
and drawdowns stay visible.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import numpy as np

from trading.backtest.result import BacktestResult

POINTS = 1200
WIDTH, PAD_LEFT, PAD_RIGHT = 1100, 70, 20
PANELS = (("Price and fills", 300), ("Equity and buy-and-hold", 220), ("Drawdown", 140))
BUY_COLOUR, SELL_COLOUR = "#1a7f37", "#cf222e"
LINE_COLOURS = ("#24292f", "#0969da", "#8c959f")
MAX_MARKERS = 3000


def write_chart(result: BacktestResult, path: str | Path) -> Path:
    """Write the chart to ``path`` (.html); returns the path."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"{path}: the chart is an HTML file (PNG needs a plotting library this install lacks)")
    path.write_text(render(result), encoding="utf-8")
    return path


def render(result: BacktestResult) -> str:
    span = result.span
    times = result.times[span].astype(np.float64)
    close, equity = result.close[span], result.equity[span]
    hold = result.buy_and_hold
    peak = np.maximum.accumulate(equity)
    drawdown = np.where(peak > 0, equity / peak - 1, 0.0)
    x0, x1 = float(times[0]), float(times[-1])
    fills = result.fills()
    step = max(1, len(fills) // MAX_MARKERS)
    marks = [(f.time.timestamp(), float(f.price), f.side.value) for f in fills]  # at the open it filled at
    panels = [
        _panel(PANELS[0], times, [close], x0, x1, marks[::step]),
        _panel(PANELS[1], times, [equity, hold], x0, x1, legend=("strategy", "buy and hold")),
        _panel(PANELS[2], times, [drawdown], x0, x1, percent=True, fill=True),
    ]
    m = result.metrics
    title = (
        f"{result.product.product_id} {result.config.granularity.short} backtest, "
        f"{result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC"
    )
    summary = " · ".join(
        f"{label} {_fmt(m.get(key), pct)}"
        for label, key, pct in (
            ("return", "total_return", True),
            ("buy and hold", "buy_and_hold_return", True),
            ("max drawdown", "max_drawdown", "share"),
            ("Sharpe", "sharpe", False),
            ("trades", "trades", False),
            ("win rate", "win_rate", "share"),
            ("fees", "fees_paid", False),
        )
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:24px;color:#24292f}"
        "h1{font-size:18px}p{color:#57606a}svg{display:block;margin-bottom:8px}"
        "text{font:11px system-ui,sans-serif;fill:#57606a}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>{''.join(panels)}</body></html>\n"
    )


def _panel(
    spec: tuple[str, int],
    times: np.ndarray,
    series: list[np.ndarray],
    x0: float,
    x1: float,
    marks: list[tuple[float, float, str]] | None = None,
    *,
    legend: tuple[str, ...] = (),
    percent: bool = False,
    fill: bool = False,
) -> str:
    name, height = spec
    top, bottom = 24, height - 22
    lo = min(float(np.nanmin(s)) for s in series)
    hi = max(float(np.nanmax(s)) for s in series)
    if marks:
        lo, hi = min(lo, min(p for _, p, _ in marks)), max(hi, max(p for _, p, _ in marks))
    if hi <= lo:
        hi, lo = hi + 1, lo - 1

    def x(t: float) -> float:
        return PAD_LEFT + (t - x0) / max(x1 - x0, 1) * (WIDTH - PAD_LEFT - PAD_RIGHT)

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [f"<svg width='{WIDTH}' height='{height}' role='img' aria-label='{html.escape(name)}'>"]
    parts.append(f"<text x='{PAD_LEFT}' y='14'>{html.escape(name)}</text>")
    for value in (lo, (lo + hi) / 2, hi):
        parts.append(
            f"<line x1='{PAD_LEFT}' x2='{WIDTH - PAD_RIGHT}' y1='{y(value):.1f}' y2='{y(value):.1f}' stroke='#d0d7de'/>"
            f"<text x='4' y='{y(value) + 4:.1f}'>{_fmt(value, percent)}</text>"
        )
    for label, t in (("start", x0), ("end", x1)):
        anchor = "start" if label == "start" else "end"
        when = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")
        parts.append(f"<text x='{x(t):.1f}' y='{height - 6}' text-anchor='{anchor}'>{when}</text>")
    for k, values in enumerate(series):
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in _reduce(times, values))
        colour = LINE_COLOURS[k % len(LINE_COLOURS)]
        if fill:
            base = f"{x(x1):.1f},{y(0):.1f} {x(x0):.1f},{y(0):.1f}"
            parts.append(f"<polygon points='{points} {base}' fill='#ffebe9' stroke='{SELL_COLOUR}'/>")
        else:
            parts.append(f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='1'/>")
    for k, label in enumerate(legend):
        parts.append(
            f"<text x='{WIDTH - PAD_RIGHT - 220 + 110 * k}' y='14' fill='{LINE_COLOURS[k]}' "
            f"style='fill:{LINE_COLOURS[k]}'>— {html.escape(label)}</text>"
        )
    for t, price, side in marks or ():
        px, py = x(t), y(price)
        if side == "BUY":
            shape = f"{px:.1f},{py + 3:.1f} {px - 4:.1f},{py + 10:.1f} {px + 4:.1f},{py + 10:.1f}"
            colour = BUY_COLOUR
        else:
            shape = f"{px:.1f},{py - 3:.1f} {px - 4:.1f},{py - 10:.1f} {px + 4:.1f},{py - 10:.1f}"
            colour = SELL_COLOUR
        parts.append(f"<polygon points='{shape}' fill='{colour}'><title>{side} {price:g}</title></polygon>")
    parts.append("</svg>")
    return "".join(parts)


def _reduce(times: np.ndarray, values: np.ndarray) -> list[tuple[float, float]]:
    """At most ``POINTS`` columns, each drawn as its low then its high (in time order)."""
    n = len(values)
    if n <= 2 * POINTS:
        return list(zip(times.tolist(), values.tolist()))
    edges = np.linspace(0, n, POINTS + 1).astype(int)
    out = []
    for a, b in pairwise(edges):
        chunk = values[a:b]
        i, j = a + int(np.argmin(chunk)), a + int(np.argmax(chunk))
        for k in sorted((i, j)):
            out.append((float(times[k]), float(values[k])))
    return out


def _fmt(value: object, percent: bool | str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if percent == "share":
        return f"{float(value) * 100:.2f}%"
    if percent:
        return f"{float(value) * 100:+.2f}%"
    return f"{float(value):,.6g}" if isinstance(value, float) else f"{value:,}"
