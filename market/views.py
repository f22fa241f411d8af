"""The bot page's chart data: candles, the bot's own indicators and its fills, as JSON.

The indicator lines come from the signals' own ``series()`` with the bot's
parameters, so the chart shows exactly what the bot scores, never a second
implementation of RSI or MACD in JavaScript.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from autotrader.htmx import HtmxHttpRequest
from bots.models import Bot
from bots.signals import REGISTRY, Signal
from market.cache import MAX_CACHED_CANDLES
from market.services import get_market_data
from market.types import Candles
from trading.selectors import trades_between

DEFAULT_CANDLES = 300
MAX_CANDLES = 1000
CHART_SIGNALS = ("moving_average", "rsi", "macd")


def _points(times: np.ndarray, values: np.ndarray) -> list[dict[str, float]]:
    """Line points, leaving out the warm-up (NaN) where an indicator has no value yet."""
    keep = ~np.isnan(values)
    return [{"time": int(t), "value": round(float(v), 10)} for t, v in zip(times[keep], values[keep])]


def _signals(bot: Bot) -> dict[str, Signal]:
    """The bot's configured signals (enabled or not), defaults for any it lacks."""
    specs = {spec.name: spec for spec in bot.config.signals}
    return {name: specs[name].build() if name in specs else REGISTRY[name]() for name in CHART_SIGNALS}


def _decimals(increment: Any) -> int:
    exponent = increment.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 2


def _markers(bot: Bot, candles: Candles, granularity_seconds: int) -> list[dict[str, Any]]:
    """The bot's fills, each pinned to the candle it happened in (the last candle if it is still forming)."""
    if not len(candles):
        return []
    first, last = int(candles.time[0]), int(candles.time[-1])
    start = datetime.fromtimestamp(first, tz=UTC)
    end = datetime.fromtimestamp(last + 2 * granularity_seconds, tz=UTC)
    markers = []
    for trade in trades_between(bot=bot, start=start, end=end):
        t = int(trade.executed_at.timestamp()) // granularity_seconds * granularity_seconds
        markers.append(
            {
                "time": min(t, last),
                "side": trade.side,
                "price": str(trade.price),
                "size": str(trade.size.normalize()),
            }
        )
    return markers


@require_GET
def bot_chart(request: HtmxHttpRequest, pk: int) -> JsonResponse:
    """JSON: closed candles of the bot's pair and granularity, its MAs, RSI, MACD, thresholds and fills."""
    bot = get_object_or_404(Bot, pk=pk)
    try:
        count = min(max(int(request.GET.get("candles", DEFAULT_CANDLES)), 50), MAX_CANDLES)
    except ValueError:
        count = DEFAULT_CANDLES
    market = get_market_data()
    now = market.now()
    granularity = bot.config.granularity
    signals = _signals(bot)
    # The same settled warm-up as the bot's own evaluation, so the lines equal its values.
    warmup = min(
        max(signal.min_candles() + signal.settle_candles() for signal in signals.values()),
        MAX_CACHED_CANDLES - count,
    )
    history = market.candles(bot.product_id, granularity, now - granularity.delta * (count + warmup), now)
    shown = history[-count:]
    times = shown.time
    lines: dict[str, list[dict[str, float]]] = {}
    for signal in signals.values():
        indicators = signal.series(history).indicators if len(history) else {}
        for key, values in indicators.items():
            lines[key] = _points(times, values[len(values) - len(times) :])
    ma, rsi, macd = signals["moving_average"].p, signals["rsi"].p, signals["macd"].p
    return JsonResponse(
        {
            "bot": bot.pk,
            "product_id": bot.product_id,
            "granularity": granularity.short,
            "price_decimals": _decimals(market.product(bot.product_id).price_increment),
            "candles": [
                {"time": int(t), "open": float(o), "high": float(h), "low": float(lo), "close": float(c)}
                for t, o, h, lo, c in zip(times, shown.open, shown.high, shown.low, shown.close)
            ],
            "markers": _markers(bot, shown, granularity.seconds),
            "lines": {
                "fast_ma": lines.get("fast_ma", []),
                "slow_ma": lines.get("slow_ma", []),
                "rsi": lines.get("rsi", []),
                "macd": lines.get("macd", []),
                "macd_signal": lines.get("macd_signal", []),
                "macd_histogram": lines.get("macd_histogram", []),
            },
            "labels": {
                "fast_ma": f"{ma['ma_type'].upper()} {ma['fast_period']}",
                "slow_ma": f"{ma['ma_type'].upper()} {ma['slow_period']}",
                "rsi": f"RSI {rsi['period']}",
                "macd": f"MACD {macd['fast_period']} {macd['slow_period']} {macd['signal_period']}",
            },
            "thresholds": {"rsi_buy": rsi["buy_threshold"], "rsi_sell": rsi["sell_threshold"]},
        }
    )
