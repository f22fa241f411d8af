"""The backtester: the live decision rules, replayed over history by a compiled loop.

``run(config, BacktestData(candles, product, granularity, settings))`` returns
a ``BacktestResult``; ``trading.backtest.sweep`` runs grids of configs on all
cores; ``manage.py backtest`` is the command line. docs/backtesting.md
describes what it does and how it stays identical to live trading.
"""

from trading.backtest.engine import BacktestData, BacktestError, BacktestSettings, run
from trading.backtest.result import BacktestResult, Fill, RoundTrip

__all__ = ["BacktestData", "BacktestError", "BacktestResult", "BacktestSettings", "Fill", "RoundTrip", "run"]
