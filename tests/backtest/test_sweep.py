"""Parameter sweeps: grids, ranking, the walk-forward split, and parallel runs that equal serial ones."""

from __future__ import annotations

import pytest

from bots.signals.rsi import RSISignal
from tests.backtest.conftest import FAST_SIGNALS, data, swings
from trading.backtest import run
from trading.backtest.services import validate
from trading.backtest.sweep import GridError, combinations, parse_grid, rank, split_index, sweep, with_params

VALUES = {"signal_config": FAST_SIGNALS, "confirmation_minutes": 0}
GRID = ["rsi.period=4,6,9", "moving_average.fast_period=3,4,12", "buy_threshold=0.25,0.35"]


@pytest.fixture(scope="module")
def market_data(btc):
    return data(swings(3000, seed=12), btc)


def test_grids_are_read_with_their_types():
    axes = parse_grid(["rsi.period=7,14,21", "moving_average.ma_type=sma,ema", "buy_threshold=0.25"])
    assert axes == [("rsi.period", [7, 14, 21]), ("moving_average.ma_type", ["sma", "ema"]), ("buy_threshold", [0.25])]
    assert len(combinations(axes)) == 6
    for bad in (["rsi.period"], ["=1,2"], ["rsi.period="], ["a=1", "a=2"]):
        with pytest.raises(GridError):
            parse_grid(bad)


def test_a_combination_sets_signal_parameters_and_bot_settings():
    out = with_params(VALUES, {"rsi.period": 9, "buy_threshold": 0.4})
    assert out["signal_config"]["rsi"]["period"] == 9 and out["buy_threshold"] == 0.4
    assert VALUES["signal_config"]["rsi"]["period"] == 6  # the base settings are untouched


def test_every_combination_runs_and_is_ranked(market_data):
    rows = sweep(VALUES, market_data, parse_grid(GRID), rank_by="sharpe", workers=1)
    assert len(rows) == 18
    invalid = [r for r in rows if r.error]
    # fast_period 12 is not below slow_period 9: refused like a bot would be, and ranked last.
    assert len(invalid) == 6 and all("fast_period" in r.error for r in invalid) and rows[-6:] == invalid
    sharpes = [r.metrics["sharpe"] for r in rows if not r.error]
    assert sharpes == sorted(sharpes, reverse=True)
    best = rows[0]
    direct = run(validate(with_params(VALUES, best.params)), market_data)
    assert direct.metrics == best.metrics


def test_parallel_workers_give_the_serial_results(market_data):
    serial = sweep(VALUES, market_data, parse_grid(GRID[:2]), workers=1)
    parallel = sweep(VALUES, market_data, parse_grid(GRID[:2]), workers=2)
    assert parallel == serial


def test_walk_forward_ranks_on_the_training_part_and_tests_on_the_rest(market_data):
    rows = sweep(VALUES, market_data, parse_grid(GRID[:1]), rank_by="total_return", train_fraction=0.7, workers=1)
    split = split_index(0, len(market_data) - 1, 0.7)
    for row in rows:
        config = validate(with_params(VALUES, row.params))
        assert row.metrics == run(config, market_data, last=split).metrics
        assert row.test == run(config, market_data, first=split).metrics
    returns = [r.metrics["total_return"] for r in rows]
    assert returns == sorted(returns, reverse=True)


def test_signal_scores_are_computed_once_per_distinct_parameters(market_data, monkeypatch):
    calls = []
    original = RSISignal.series
    monkeypatch.setattr(RSISignal, "series", lambda self, c: calls.append(self.p["period"]) or original(self, c))
    sweep(VALUES, market_data, parse_grid(["rsi.period=4,6", "macd.signal_period=3,4,5"]), workers=1)
    assert sorted(calls) == [4, 6]


def test_ranking_puts_missing_values_last_and_drawdown_lowest_first():
    from trading.backtest.sweep import SweepRow

    rows = [SweepRow({"a": a}, {"max_drawdown": dd}) for a, dd in ((1, 0.3), (2, None), (3, 0.1))]
    assert [r.params["a"] for r in rank(rows, "max_drawdown")] == [3, 1, 2]
    with pytest.raises(GridError, match="between 0 and 1"):
        split_index(0, 100, 1.0)
