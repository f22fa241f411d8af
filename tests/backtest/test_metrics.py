"""Every metric against a hand computation on a small series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trading.backtest.metrics import YEAR_SECONDS, equity_metrics, trade_metrics

QUARTER = YEAR_SECONDS / 4
STEP = 300  # the candle size the returns are annualised by
EQUITY = np.array([100.0, 110.0, 99.0, 121.0, 121.0])  # a year of quarterly marks
TIMES = (np.arange(5) * QUARTER).astype(np.int64)


@pytest.fixture
def m():
    return equity_metrics(EQUITY, TIMES, STEP)


def test_total_return_and_cagr(m):
    assert m["total_return"] == pytest.approx(0.21)
    assert m["cagr"] == pytest.approx(0.21)  # the span is one year


def test_max_drawdown_value_and_duration(m):
    assert m["max_drawdown"] == pytest.approx(0.1)  # 110 -> 99
    assert m["max_drawdown_value"] == pytest.approx(11.0)
    assert m["max_drawdown_duration_seconds"] == int(TIMES[3] - TIMES[1])  # from the peak to the close regaining it


def test_sharpe_sortino_calmar(m):
    returns = [0.1, -0.1, 121 / 99 - 1, 0.0]
    mean = sum(returns) / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    downside = math.sqrt(0.1**2 / 4)
    per_year = math.sqrt(YEAR_SECONDS / STEP)
    assert m["sharpe"] == pytest.approx(mean / std * per_year)
    assert m["sortino"] == pytest.approx(mean / downside * per_year)
    assert m["calmar"] == pytest.approx(0.21 / 0.1)


def test_a_drawdown_never_recovered_lasts_to_the_end():
    m = equity_metrics(np.array([100.0, 120.0, 90.0, 95.0]), np.array([0, 10, 20, 30]), STEP)
    assert m["max_drawdown"] == pytest.approx(0.25)
    assert m["max_drawdown_duration_seconds"] == 20


def test_a_flat_curve_has_no_ratios():
    m = equity_metrics(np.full(10, 50.0), np.arange(10) * 300, STEP)
    assert (m["total_return"], m["max_drawdown"], m["max_drawdown_duration_seconds"]) == (0.0, 0.0, 0)
    assert m["sharpe"] is m["sortino"] is m["calmar"] is None


def test_a_gain_over_minutes_has_no_annual_rate():
    m = equity_metrics(np.array([100.0, 200.0]), np.array([0, 300]), STEP)
    assert m["cagr"] is None and m["total_return"] == 1.0


def test_trade_metrics():
    t = trade_metrics(np.array([10.0, -5.0, 3.0, -2.0]), np.array([100.0, 100.0, 50.0, 40.0]))
    assert t["trades"] == 4
    assert t["win_rate"] == 0.5
    assert t["profit_factor"] == pytest.approx(13 / 7)
    assert t["average_trade"] == pytest.approx(1.5)
    assert t["average_trade_pct"] == pytest.approx((0.1 - 0.05 + 0.06 - 0.05) / 4)
    assert (t["best_trade"], t["best_trade_pct"]) == (10.0, pytest.approx(0.1))
    assert (t["worst_trade"], t["worst_trade_pct"]) == (-5.0, pytest.approx(-0.05))


def test_trade_metrics_without_losses_or_trades():
    assert trade_metrics(np.array([1.0, 2.0]), np.array([10.0, 10.0]))["profit_factor"] is None
    none = trade_metrics(np.zeros(0), np.zeros(0))
    assert none["trades"] == 0 and none["win_rate"] is None and none["average_trade"] is None
