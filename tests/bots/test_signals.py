"""The three signals: score bounds and sign rules, data needs, reasons, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.config import ConfigError, parse_signal_config
from bots.signals import REGISTRY
from bots.signals.macd import MACDSignal
from bots.signals.moving_average import MovingAverageSignal
from bots.signals.rsi import RSISignal, neutral_zone, rsi_score
from tests.conftest import make_candles

SIGNALS = [RSISignal, MovingAverageSignal, MACDSignal]
INDICATORS = {
    "rsi": {"rsi"},
    "moving_average": {"fast_ma", "slow_ma"},
    "macd": {"macd", "macd_signal", "macd_histogram"},
}

# Log returns with runs of unchanged closes, so flat stretches and exact ties occur.
returns = st.lists(st.one_of(st.floats(-0.08, 0.08), st.just(0.0)), min_size=0, max_size=150)


def candles_from(steps: list[float], start: float = 100.0):
    return make_candles(start * np.exp(np.cumsum([0.0, *steps])))


@st.composite
def rsi_params(draw):
    buy = draw(st.floats(0, 99))
    sell = draw(st.floats(buy, 100).filter(lambda s: s > buy))
    return {"period": draw(st.integers(2, 30)), "buy_threshold": buy, "sell_threshold": sell}


@st.composite
def trend_params(draw, *, signal_period: bool = False):
    fast = draw(st.integers(2, 20))
    params = {
        "fast_period": fast,
        "slow_period": draw(st.integers(fast + 1, 40)),
        "full_scale_pct": draw(st.floats(0.01, 5)),
        "crossover_lookback": draw(st.integers(0, 50)),
        "crossover_boost": draw(st.floats(0, 1)),
    }
    if signal_period:
        params["signal_period"] = draw(st.integers(2, 15))
    return params


def ma_params():
    return st.builds(lambda p, kind: {**p, "ma_type": kind}, trend_params(), st.sampled_from(["sma", "ema"]))


def assert_bounded(score: np.ndarray) -> None:
    defined = score[~np.isnan(score)]
    assert ((defined >= -1) & (defined <= 1)).all()


# --- RSI -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(steps=returns, params=rsi_params())
def test_rsi_score_bounds_and_sign_rules(steps, params):
    s = RSISignal(**params).series(candles_from(steps))
    score, rsi = s.score, s.indicators["rsi"]
    np.testing.assert_array_equal(np.isnan(score), np.isnan(rsi))
    assert_bounded(score)
    buy, sell = params["buy_threshold"], params["sell_threshold"]
    low, high = neutral_zone(buy, sell)
    defined = ~np.isnan(rsi)
    r, sc = rsi[defined], score[defined]
    assert (sc[r <= buy] == 1).all() and (sc[r >= sell] == -1).all()
    # "r <= buy" matters only when the thresholds are so close that low == buy.
    np.testing.assert_array_equal(sc > 0, (r < low) | (r <= buy))
    np.testing.assert_array_equal(sc < 0, (r > high) | (r >= sell))


@settings(max_examples=200, deadline=None)
@given(params=rsi_params(), a=st.floats(0, 100), b=st.floats(0, 100))
def test_rsi_score_never_rises_as_rsi_rises(params, a, b):
    buy, sell = params["buy_threshold"], params["sell_threshold"]
    low, high = neutral_zone(buy, sell)
    # The random pair, plus every joint of the curve and its floating-point neighbours.
    joints = np.array([buy, low, high, sell])
    points = np.sort(np.concatenate([[a, b], joints, np.nextafter(joints, -1), np.nextafter(joints, 101)]))
    scores = rsi_score(points, buy, sell)
    assert (np.diff(scores) <= 0).all()


def test_rsi_score_never_rises_over_a_real_series(random_walk):
    s = RSISignal().series(random_walk)
    rsi, score = s.indicators["rsi"], s.score
    order = np.argsort(rsi[14:], kind="stable")
    assert (np.diff(score[14:][order]) <= 0).all()
    # The series reaches both ends, so the check covers the whole curve.
    assert score[14:].max() == 1 and score[14:].min() == -1


def test_rsi_score_shape_for_the_default_thresholds():
    # Neutral zone 45..55; linear from +1 at 30 to 0 at 45 and from 0 at 55 to -1 at 70.
    rsi = np.array([0, 30, 37.5, 45, 50, 55, 62.5, 70, 100, np.nan])
    np.testing.assert_allclose(rsi_score(rsi, 30, 70), [1, 1, 0.5, 0, 0, 0, -0.5, -1, -1, np.nan])
    # A narrow gap shrinks the neutral zone to a quarter of it each side: 40 +/- 2.5.
    assert neutral_zone(35, 45) == (37.5, 42.5)


@pytest.mark.parametrize(
    ("rsi", "score", "reason"),
    [
        (27.4, 1.0, "RSI 27.4 at or below 30 (oversold)"),
        (71.0, -1.0, "RSI 71.0 at or above 70 (overbought)"),
        (40.0, 0.33, "RSI 40.0 between 30 and 45 (leaning oversold)"),
        (60.0, -0.33, "RSI 60.0 between 55 and 70 (leaning overbought)"),
        (50.0, 0.0, "RSI 50.0 in the neutral zone 45-55"),
    ],
)
def test_rsi_reasons(rsi, score, reason):
    assert RSISignal().describe({"rsi": rsi}, score) == reason


# --- moving average --------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(steps=returns, params=ma_params())
def test_moving_average_score_bounds_and_sign(steps, params):
    s = MovingAverageSignal(**params).series(candles_from(steps))
    fast, slow, score = s.indicators["fast_ma"], s.indicators["slow_ma"], s.score
    assert_bounded(score)
    np.testing.assert_array_equal(np.isnan(score), np.isnan(slow))
    defined = ~np.isnan(score)
    np.testing.assert_array_equal(np.sign(score[defined]), np.sign(fast[defined] - slow[defined]))
    # The boost only ever adds to the separation's own score.
    separation = np.abs(fast - slow)[defined] / slow[defined] * 100 / params["full_scale_pct"]
    assert (np.abs(score[defined]) >= np.minimum(separation, 1) - 1e-12).all()


def crossing_candles():
    """Falling for 40 candles, then rising: the fast average crosses above once."""
    return make_candles(np.concatenate([np.linspace(120, 100, 40), np.linspace(100.5, 110, 20)]))


def test_moving_average_boost_follows_a_fresh_crossover():
    candles = crossing_candles()
    boosted = MovingAverageSignal(full_scale_pct=100).series(candles)
    plain = MovingAverageSignal(full_scale_pct=100, crossover_lookback=0).series(candles)
    gap = boosted.indicators["fast_ma"] - boosted.indicators["slow_ma"]
    cross = int(np.flatnonzero((gap[1:] > 0) & (gap[:-1] <= 0))[0]) + 1
    extra = boosted.score - plain.score
    # Boosted on the crossing candle and the two after it (lookback 3), then not.
    np.testing.assert_allclose(extra[cross : cross + 3], 0.25)
    np.testing.assert_allclose(extra[cross + 3 :], 0)
    assert (extra[19:cross] == 0).all()


def test_moving_average_scores_a_full_point_at_full_scale_separation():
    signal = MovingAverageSignal(crossover_lookback=0, full_scale_pct=2.0)
    s = signal.series(crossing_candles())
    fast, slow = s.indicators["fast_ma"][-1], s.indicators["slow_ma"][-1]
    assert s.score[-1] == pytest.approx(min((fast - slow) / slow * 100 / 2.0, 1))


def test_moving_average_ema_type_uses_exponential_averages():
    from bots.signals.indicators import ema

    candles = crossing_candles()
    s = MovingAverageSignal(ma_type="ema").series(candles)
    np.testing.assert_array_equal(s.indicators["slow_ma"], ema(candles.close, 20))


def test_moving_average_reasons():
    signal = MovingAverageSignal()
    assert signal.describe({"fast_ma": 101.0, "slow_ma": 100.0}, 1.0) == (
        "fast SMA(10) 101 above slow SMA(20) 100 by 1.00%"
    )
    assert signal.describe({"fast_ma": 99.9, "slow_ma": 100.0}, -0.35) == (
        "fast SMA(10) 99.9 below slow SMA(20) 100 by 0.10% (crossed within the last 3 candles)"
    )
    assert signal.describe({"fast_ma": 100.0, "slow_ma": 100.0}, 0.0) == (
        "fast SMA(10) 100 level with slow SMA(20) 100"
    )


# --- MACD ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(steps=returns, params=trend_params(signal_period=True))
def test_macd_score_bounds_and_sign(steps, params):
    s = MACDSignal(**params).series(candles_from(steps))
    histogram, score = s.indicators["macd_histogram"], s.score
    assert_bounded(score)
    np.testing.assert_array_equal(np.isnan(score), np.isnan(histogram))
    defined = ~np.isnan(score)
    np.testing.assert_array_equal(np.sign(score[defined]), np.sign(histogram[defined]))


def test_macd_boost_needs_a_zero_cross_in_the_histograms_direction():
    candles = crossing_candles()
    boosted = MACDSignal(full_scale_pct=100).series(candles)
    plain = MACDSignal(full_scale_pct=100, crossover_lookback=0).series(candles)
    line, histogram = boosted.indicators["macd"], boosted.indicators["macd_histogram"]
    cross = int(np.flatnonzero((line[1:] > 0) & (line[:-1] <= 0))[0]) + 1
    assert (histogram[cross : cross + 3] > 0).all()
    extra = boosted.score - plain.score
    np.testing.assert_allclose(extra[cross : cross + 3], 0.25)
    np.testing.assert_allclose(extra[cross + 3 :], 0)


def test_macd_reasons():
    signal = MACDSignal()
    reason = signal.describe({"macd": 0.5, "macd_signal": 0.25, "macd_histogram": 0.25}, 0.8)
    assert reason == "MACD 0.5 above signal 0.25, histogram +0.25 (bullish)"
    reason = signal.describe({"macd": -0.5, "macd_signal": -0.25, "macd_histogram": -0.25}, -0.8)
    assert reason == "MACD -0.5 below signal -0.25, histogram -0.25 (bearish)"


# --- all signals -----------------------------------------------------------


def test_registry_holds_the_three_signals():
    assert {"rsi", "moving_average", "macd"} <= set(REGISTRY)
    for cls in SIGNALS:
        assert REGISTRY[cls.name] is cls
        assert cls.label


@pytest.mark.parametrize("cls", SIGNALS)
def test_too_few_candles_is_insufficient_data(cls, random_walk):
    signal = cls()
    need = signal.min_candles()
    short = signal.calculate(random_walk[: need - 1])
    assert short.score is None and not short.has_data
    assert short.reason.startswith("insufficient data")
    assert signal.calculate(random_walk[:need]).score is not None
    # min_candles is exactly where the series first has a score.
    assert int(np.flatnonzero(~np.isnan(signal.series(random_walk).score))[0]) == need - 1


@pytest.mark.parametrize("cls", SIGNALS)
def test_calculate_is_the_last_value_of_the_series(cls, random_walk):
    signal = cls()
    result = signal.calculate(random_walk)
    s = signal.series(random_walk)
    assert result.name == cls.name
    assert result.score == s.score[-1]
    assert set(result.indicators) == INDICATORS[cls.name] == set(s.indicators)
    for key, values in s.indicators.items():
        assert result.indicators[key] == values[-1]
    assert result.reason == signal.describe(result.indicators, result.score)


@pytest.mark.parametrize("cls", SIGNALS)
def test_series_handles_no_candles(cls):
    s = cls().series(make_candles(np.array([100.0]))[:0])
    assert len(s.score) == 0


@pytest.mark.parametrize(
    ("cls", "params", "field", "message"),
    [
        (RSISignal, {"buy_threshold": 70, "sell_threshold": 70}, "buy_threshold", "must be below sell_threshold (70)"),
        (MovingAverageSignal, {"fast_period": 20}, "fast_period", "must be less than slow_period (20)"),
        (MACDSignal, {"fast_period": 30}, "fast_period", "must be less than slow_period (26)"),
    ],
)
def test_check_refuses_contradictory_settings(cls, params, field, message):
    full = {p.name: p.default for p in cls.params} | params
    assert cls.check(full) == {field: message}
    with pytest.raises(ValueError, match=field):
        cls(**params)
    assert cls.check({p.name: p.default for p in cls.params}) == {}


def test_signal_config_errors_name_the_field():
    with pytest.raises(ConfigError) as exc:
        parse_signal_config(
            {
                "rsi": {"weight": 0.4, "period": 1, "lookback": 3},
                "moving_average": {"weight": 0.3, "fast_period": 30},
                "macd": {"weight": 0.3, "full_scale_pct": 0},
            }
        )
    errors = exc.value.errors
    assert errors["signal_config.rsi.period"] == "must be at least 2"
    assert errors["signal_config.rsi.lookback"].startswith("unknown setting for rsi")
    assert errors["signal_config.moving_average.fast_period"] == "must be less than slow_period (20)"
    assert errors["signal_config.macd.full_scale_pct"] == "must be at least 0.001"
    assert len(errors) == 4


def test_signal_config_builds_working_signals():
    specs = parse_signal_config({"rsi": {"weight": 0.5, "buy_threshold": 25, "sell_threshold": 75}})
    signal = specs[0].build()
    assert isinstance(signal, RSISignal) and signal.p["buy_threshold"] == 25
