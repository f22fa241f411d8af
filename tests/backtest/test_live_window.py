"""The live path's window of history gives the values the backtester computes over the whole series."""

from __future__ import annotations

import pytest

from bots.config import DEFAULT_SIGNAL_CONFIG, MAX_HISTORY_CANDLES, bot_config_from_values
from tests.backtest.conftest import walk

SIGNALS = {**DEFAULT_SIGNAL_CONFIG, "moving_average": {**DEFAULT_SIGNAL_CONFIG["moving_average"], "ma_type": "ema"}}


@pytest.mark.parametrize("offset", [0, 37, 1500])
def test_a_window_of_history_needed_candles_scores_as_the_whole_series(offset):
    candles = walk(4000, seed=13)
    config = bot_config_from_values({"signal_config": SIGNALS})
    end = len(candles) - offset
    window = candles[end - config.history_needed : end]
    for _, signal in config.built:
        whole = signal.series(candles[:end]).score[-1]
        live = signal.series(window).score[-1]
        # Wilder's RSI and the EMAs have forgotten where the window began: the same bits.
        assert live == whole, signal.name


def test_the_window_without_the_settling_would_differ():
    # What the settling is for: RSI over a window of three times its minimum is visibly off.
    candles = walk(4000, seed=13)
    rsi = {spec.name: signal for spec, signal in bot_config_from_values({"signal_config": SIGNALS}).built}["rsi"]
    short = candles[-rsi.min_candles() * 3 :]
    assert abs(rsi.series(short).score[-1] - rsi.series(candles).score[-1]) > 1e-6


def test_history_stays_inside_the_market_data_cache():
    slow = {"rsi": {"enabled": True, "weight": 1.0, "period": 200}}
    assert bot_config_from_values({"signal_config": slow}).history_needed == MAX_HISTORY_CANDLES
    assert MAX_HISTORY_CANDLES <= 1500  # market.cache keeps 1,500 candles per series


def test_the_command_warns_when_a_live_window_cannot_settle():
    from trading.backtest.services import unsettled

    slow = bot_config_from_values({"signal_config": {"rsi": {"enabled": True, "weight": 1.0, "period": 200}}})
    (warning,) = unsettled(slow)
    assert "rsi needs 7," in warning and "reads 1,000" in warning
    assert unsettled(bot_config_from_values({"signal_config": SIGNALS})) == []
