"""RSI: buy when oversold, sell when overbought, stay quiet around the middle."""

from __future__ import annotations

from typing import Any

import numpy as np

from bots.signals.base import MAX_PERIOD, Param, Signal, SignalSeries, forget_candles, register
from bots.signals.indicators import wilder_rsi
from market.types import Candles

MAX_NEUTRAL_HALF_WIDTH = 5.0


def neutral_zone(buy_threshold: float, sell_threshold: float) -> tuple[float, float]:
    """The RSI band around the thresholds' midpoint that scores 0.

    Its half-width is at most 5 RSI points and at most a quarter of the gap
    between the thresholds, so the sloped parts either side keep half the gap.
    """
    mid = (buy_threshold + sell_threshold) / 2
    half = min(MAX_NEUTRAL_HALF_WIDTH, (sell_threshold - buy_threshold) / 4)
    return mid - half, mid + half


def rsi_score(rsi: np.ndarray, buy_threshold: float, sell_threshold: float) -> np.ndarray:
    """+1 at or below the buy threshold, -1 at or above the sell threshold,
    0 in the neutral zone, linear in between; NaN where RSI is NaN.

    Written as a buy ramp minus a sell ramp, each clipped to [0, 1]: each piece
    is monotone under floating-point rounding, so the score can never rise as
    RSI rises, not even by one ulp at a joint (which an interpolation table can).
    """
    low, high = neutral_zone(buy_threshold, sell_threshold)
    # Thresholds a few ulps apart leave a ramp of zero width: the division then
    # gives +-inf (or NaN exactly at the threshold), which the clip and the
    # explicit threshold comparisons turn into the intended step.
    with np.errstate(all="ignore"):
        buying = np.where(rsi <= buy_threshold, 1.0, np.clip((low - rsi) / (low - buy_threshold), 0.0, 1.0))
        selling = np.where(rsi >= sell_threshold, 1.0, np.clip((rsi - high) / (sell_threshold - high), 0.0, 1.0))
    return buying - selling


@register
class RSISignal(Signal):
    """Wilder's RSI mapped onto a score by the buy and sell thresholds."""

    name = "rsi"
    label = "RSI"
    params = (
        Param("period", int, 14, minimum=2, maximum=MAX_PERIOD, help="Candles in Wilder's smoothing."),
        Param("buy_threshold", float, 30.0, 0, 100, help="RSI at or below this scores +1 (oversold)."),
        Param("sell_threshold", float, 70.0, 0, 100, help="RSI at or above this scores -1 (overbought)."),
    )

    @classmethod
    def check(cls, params: dict[str, Any]) -> dict[str, str]:
        if params["buy_threshold"] >= params["sell_threshold"]:
            return {"buy_threshold": f"must be below sell_threshold ({params['sell_threshold']:g})"}
        return {}

    def min_candles(self) -> int:
        return self.p["period"] + 1

    def settle_candles(self) -> int:
        # Wilder's smoothing keeps (period - 1) / period of the previous average.
        return forget_candles(1 - 1 / self.p["period"])

    def series(self, candles: Candles) -> SignalSeries:
        rsi = wilder_rsi(candles.close, self.p["period"])
        score = rsi_score(rsi, self.p["buy_threshold"], self.p["sell_threshold"])
        return SignalSeries(score, {"rsi": rsi})

    def describe(self, indicators: dict[str, float | None], score: float) -> str:
        rsi = indicators["rsi"]
        buy, sell = self.p["buy_threshold"], self.p["sell_threshold"]
        low, high = neutral_zone(buy, sell)
        if rsi <= buy:
            return f"RSI {rsi:.1f} at or below {buy:g} (oversold)"
        if rsi >= sell:
            return f"RSI {rsi:.1f} at or above {sell:g} (overbought)"
        if rsi < low:
            return f"RSI {rsi:.1f} between {buy:g} and {low:g} (leaning oversold)"
        if rsi > high:
            return f"RSI {rsi:.1f} between {high:g} and {sell:g} (leaning overbought)"
        return f"RSI {rsi:.1f} in the neutral zone {low:g}-{high:g}"
