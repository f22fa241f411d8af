"""MACD: the histogram leads, a fresh zero-line cross of the MACD line confirms."""

from __future__ import annotations

from typing import Any

import numpy as np

from bots.signals.base import MAX_PERIOD, Param, Signal, SignalSeries, forget_candles, register
from bots.signals.indicators import macd, recent_zero_crosses
from market.types import Candles


@register
class MACDSignal(Signal):
    """Score the MACD histogram, in percent of the close, with a crossover boost.

    Measuring the histogram against the price makes one ``full_scale_pct``
    fit every market. When the MACD line crossed zero recently in the
    direction the histogram points, momentum and trend agree, so the score is
    boosted; the boost never flips the histogram's sign.
    """

    name = "macd"
    label = "MACD"
    params = (
        Param("fast_period", int, 12, minimum=2, maximum=MAX_PERIOD, help="Candles in the fast EMA."),
        Param("slow_period", int, 26, minimum=2, maximum=MAX_PERIOD, help="Candles in the slow EMA."),
        Param("signal_period", int, 9, minimum=2, maximum=MAX_PERIOD, help="Candles in the signal line's EMA."),
        Param(
            "full_scale_pct",
            float,
            0.1,
            minimum=0.001,
            help="Histogram in percent of the close that scores a full +1 or -1.",
        ),
        Param(
            "crossover_lookback",
            int,
            3,
            minimum=0,
            maximum=50,
            help="A zero-line cross within this many candles boosts the score (0: never).",
        ),
        Param("crossover_boost", float, 0.25, 0, 1, help="Added in the histogram's direction after a cross."),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> dict[str, str]:
        if params["fast_period"] >= params["slow_period"]:
            return {"fast_period": f"must be less than slow_period ({params['slow_period']})"}
        return {}

    def min_candles(self) -> int:
        # TA-Lib's MACD starts all three outputs where the signal line starts.
        return self.p["slow_period"] + self.p["signal_period"] - 1

    def settle_candles(self) -> int:
        # The slow EMA fades its seed slowest; the signal line's EMA starts over from the MACD line.
        slow, signal = self.p["slow_period"], self.p["signal_period"]
        return forget_candles((slow - 1) / (slow + 1)) + forget_candles((signal - 1) / (signal + 1))

    def series(self, candles: Candles) -> SignalSeries:
        line, signal, histogram = macd(
            candles.close, self.p["fast_period"], self.p["slow_period"], self.p["signal_period"]
        )
        strength = np.abs(histogram) / candles.close * 100 / self.p["full_scale_pct"]
        up, down = recent_zero_crosses(line, self.p["crossover_lookback"])
        confirmed = np.where(histogram > 0, up, down)
        score = np.sign(histogram) * np.minimum(strength + self.p["crossover_boost"] * confirmed, 1.0)
        return SignalSeries(score, {"macd": line, "macd_signal": signal, "macd_histogram": histogram})

    def describe(self, indicators: dict[str, float | None], score: float) -> str:
        line, signal, histogram = indicators["macd"], indicators["macd_signal"], indicators["macd_histogram"]
        if histogram == 0:
            return f"MACD {line:.6g} level with its signal line"
        side, mood = ("above", "bullish") if histogram > 0 else ("below", "bearish")
        return f"MACD {line:.6g} {side} signal {signal:.6g}, histogram {histogram:+.6g} ({mood})"
