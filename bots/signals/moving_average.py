"""Moving-average trend: fast above slow is a buy, scaled by how far apart they are."""

from __future__ import annotations

from typing import Any

import numpy as np

from bots.signals.base import MAX_PERIOD, Param, Signal, SignalSeries, forget_candles, register
from bots.signals.indicators import ema, recent_zero_crosses, sma
from market.types import Candles

AVERAGES = {"sma": sma, "ema": ema}


@register
class MovingAverageSignal(Signal):
    """Score the separation of a fast and a slow moving average.

    The separation is measured in percent of the slow average, so one setting
    means the same on a $0.10 coin and on BTC. A fresh crossover adds a boost:
    the trend has just changed, before the averages have moved far apart.
    The score always carries the sign of fast - slow.
    """

    name = "moving_average"
    label = "Moving average"
    params = (
        Param("fast_period", int, 10, minimum=2, maximum=MAX_PERIOD, help="Candles in the fast average."),
        Param("slow_period", int, 20, minimum=2, maximum=MAX_PERIOD, help="Candles in the slow average."),
        Param("ma_type", str, "sma", choices=tuple(AVERAGES), help="Simple or exponential averages."),
        Param(
            "full_scale_pct",
            float,
            1.0,
            minimum=0.01,
            help="Separation (fast - slow) in percent of slow that scores a full +1 or -1.",
        ),
        Param(
            "crossover_lookback",
            int,
            3,
            minimum=0,
            maximum=50,
            help="A crossover within this many candles boosts the score (0: never).",
        ),
        Param("crossover_boost", float, 0.25, 0, 1, help="Added in the trend's direction after a crossover."),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> dict[str, str]:
        if params["fast_period"] >= params["slow_period"]:
            return {"fast_period": f"must be less than slow_period ({params['slow_period']})"}
        return {}

    def min_candles(self) -> int:
        return self.p["slow_period"]

    def settle_candles(self) -> int:
        # A simple average forgets exactly; an EMA fades its seed.
        slow = self.p["slow_period"]
        return forget_candles((slow - 1) / (slow + 1)) if self.p["ma_type"] == "ema" else 0

    def series(self, candles: Candles) -> SignalSeries:
        average = AVERAGES[self.p["ma_type"]]
        fast = average(candles.close, self.p["fast_period"])
        slow = average(candles.close, self.p["slow_period"])
        gap = fast - slow
        strength = np.abs(gap) / slow * 100 / self.p["full_scale_pct"]
        up, down = recent_zero_crosses(gap, self.p["crossover_lookback"])
        crossed = np.where(gap > 0, up, down)
        score = np.sign(gap) * np.minimum(strength + self.p["crossover_boost"] * crossed, 1.0)
        return SignalSeries(score, {"fast_ma": fast, "slow_ma": slow})

    def describe(self, indicators: dict[str, float | None], score: float) -> str:
        fast, slow = indicators["fast_ma"], indicators["slow_ma"]
        kind = self.p["ma_type"].upper()
        fast_ma = f"fast {kind}({self.p['fast_period']}) {fast:.6g}"
        slow_ma = f"slow {kind}({self.p['slow_period']}) {slow:.6g}"
        if score == 0:
            return f"{fast_ma} level with {slow_ma}"
        separation = (fast - slow) / slow * 100
        reason = f"{fast_ma} {'above' if score > 0 else 'below'} {slow_ma} by {abs(separation):.2f}%"
        unboosted = min(abs(separation) / self.p["full_scale_pct"], 1.0)
        if abs(score) > unboosted + 1e-9:
            reason += f" (crossed within the last {self.p['crossover_lookback']} candles)"
        return reason
