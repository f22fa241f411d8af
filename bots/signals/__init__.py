"""Signals: import each module so it registers itself."""

from bots.signals import macd, moving_average, rsi  # noqa: F401 - each module registers its signal
from bots.signals.base import REGISTRY, Param, Signal, SignalResult, SignalSeries, register

__all__ = ["REGISTRY", "Param", "Signal", "SignalResult", "SignalSeries", "register"]
