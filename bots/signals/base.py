"""The signal interface: one class per signal, registered by name.

A signal turns a candle series into a score in [-1, +1] (+1 strong buy,
-1 strong sell) and exposes the raw indicator values behind it. Each signal
computes its whole series at once (``series``), vectorised, so the live path
(which reads the last value) and the backtester (which reads them all) share
one implementation. Where a signal lacks data the score is NaN, and
``calculate`` reports "insufficient data" instead of inventing a score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from market.types import Candles

# The longest look-back a signal may ask for: 500 candles is 41 hours of 5-minute
# candles or 500 days of daily ones; more would cost years of history per read.
MAX_PERIOD = 500


@dataclass(frozen=True)
class Param:
    """One tunable parameter of a signal, with its bounds."""

    name: str
    kind: type  # int or float (bool for switches, str for choices)
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class SignalSeries:
    """Per-candle scores (NaN where there was not enough data) and raw indicators."""

    score: np.ndarray
    indicators: dict[str, np.ndarray]


@dataclass(frozen=True)
class SignalResult:
    """The latest reading of one signal."""

    name: str
    score: float | None
    indicators: dict[str, float | None]
    reason: str

    @property
    def has_data(self) -> bool:
        return self.score is not None


def _last(values: np.ndarray) -> float | None:
    if len(values) == 0:
        return None
    v = float(values[-1])
    return None if math.isnan(v) else v


class Signal:
    """Base class: subclasses set ``name`` and ``params`` and implement ``series``."""

    name: ClassVar[str]
    label: ClassVar[str]
    params: ClassVar[tuple[Param, ...]]

    def __init__(self, **params: Any) -> None:
        defaults = {p.name: p.default for p in self.params}
        unknown = set(params) - set(defaults)
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}")
        defaults.update(params)
        # A signal built around contradictory settings (fast slower than slow)
        # would score nonsense quietly; refuse it as the config layer does.
        problems = self.check(defaults)
        if problems:
            raise ValueError(f"{self.name}: " + "; ".join(f"{k} {v}" for k, v in problems.items()))
        self.p = defaults

    @classmethod
    def check(cls, params: dict[str, Any]) -> dict[str, str]:
        """Cross-parameter rules beyond each Param's bounds; field -> message.

        ``params`` holds every parameter, defaults filled in.
        """
        return {}

    def min_candles(self) -> int:
        """Candles needed before the first score exists."""
        raise NotImplementedError

    def settle_candles(self) -> int:
        """Candles beyond ``min_candles`` after which the score no longer depends on where the series began.

        A recursive indicator (an EMA, Wilder's smoothing) never forgets its
        seed, it only fades it. The live path sees a window of recent candles,
        the backtester the whole series; once the seed has faded below double
        precision (``forget_candles``) both compute the same value, the one a
        charting tool shows. 0 for a signal without such memory.
        """
        return 0

    def series(self, candles: Candles) -> SignalSeries:
        raise NotImplementedError

    def describe(self, indicators: dict[str, float | None], score: float) -> str:
        """A one-line human reason for the latest score."""
        return f"{self.label} score {score:+.2f}"

    def calculate(self, candles: Candles) -> SignalResult:
        """Score the latest candle; 'insufficient data' when there are too few."""
        need = self.min_candles()
        if len(candles) < need:
            return SignalResult(
                self.name,
                None,
                {},
                f"insufficient data: {self.label} needs {need} candles, has {len(candles)}",
            )
        s = self.series(candles)
        indicators = {k: _last(v) for k, v in s.indicators.items()}
        score = _last(s.score)
        if score is None:
            return SignalResult(self.name, None, indicators, f"insufficient data: {self.label} has no value yet")
        return SignalResult(self.name, score, indicators, self.describe(indicators, score))


def forget_candles(decay: float) -> int:
    """Steps until a weight shrinking by ``decay`` per step falls under double precision (2**-53)."""
    if decay <= 0:
        return 0
    return math.ceil(53 * math.log(2) / -math.log(decay))


REGISTRY: dict[str, type[Signal]] = {}


def register(cls: type[Signal]) -> type[Signal]:
    """Class decorator: make a signal available under ``cls.name``."""
    if cls.name in REGISTRY:
        raise ValueError(f"signal {cls.name!r} is registered twice")
    REGISTRY[cls.name] = cls
    return cls
