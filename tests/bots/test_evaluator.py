"""The evaluator: weighted score, action, temperature and the confirmation state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.config import BotConfig, SignalSpec, parse_signal_config
from bots.evaluator import (
    Action,
    ConfirmationState,
    Temperature,
    action_of,
    confirm,
    evaluate,
    temperature_of,
)
from tests.conftest import make_candles

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
STALE = timedelta(minutes=10)


def config(**kwargs) -> BotConfig:
    signals = kwargs.pop("signals", None) or parse_signal_config(
        {
            "rsi": {"enabled": True, "weight": 0.4, "period": 14, "buy_threshold": 30, "sell_threshold": 70},
            "moving_average": {"enabled": True, "weight": 0.3, "fast_period": 10, "slow_period": 20},
            "macd": {"enabled": True, "weight": 0.3, "fast_period": 12, "slow_period": 26, "signal_period": 9},
        }
    )
    return BotConfig(signals=signals, **kwargs)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, Temperature.FROZEN),
        (0.0499, Temperature.FROZEN),
        (0.05, Temperature.COOL),
        (-0.1499, Temperature.COOL),
        (0.15, Temperature.WARM),
        (-0.2999, Temperature.WARM),
        (0.3, Temperature.HOT),
        (-1.0, Temperature.HOT),
    ],
)
def test_temperature_bounds_match_design(score, expected):
    assert temperature_of(score) is expected


def test_temperature_emoji():
    assert [t.emoji for t in Temperature] == ["🧊", "❄️", "🌡️", "🔥"]


@given(st.floats(-1, 1))
def test_temperature_depends_only_on_magnitude(score):
    assert temperature_of(score) is temperature_of(-score)


def test_action_at_thresholds_is_inclusive():
    assert action_of(0.3, 0.3, -0.3) is Action.BUY
    assert action_of(-0.3, 0.3, -0.3) is Action.SELL
    assert action_of(0.2999, 0.3, -0.3) is Action.HOLD


def test_score_is_weighted_mean_of_signals_with_data(random_walk):
    cfg = config()
    ev = evaluate(cfg, random_walk, ConfirmationState(), T0)
    parts = [(s.weight, s.score) for s in ev.signals]
    assert all(score is not None for _, score in parts)
    expected = sum(w * s for w, s in parts) / sum(w for w, _ in parts)
    assert ev.score == pytest.approx(expected)
    assert sum(s.contribution for s in ev.signals) == pytest.approx(ev.score)
    assert set(ev.indicators) >= {"rsi", "fast_ma", "slow_ma", "macd", "macd_signal", "macd_histogram"}


def test_signals_without_data_are_left_out_of_the_mean():
    # 25 candles: RSI(14) and MA(10/20) have data, MACD(12/26/9) does not.
    candles = make_candles(100 + np.arange(25, dtype=float))
    ev = evaluate(config(), candles, ConfirmationState(), T0)
    by_name = {s.name: s for s in ev.signals}
    assert by_name["macd"].score is None
    assert by_name["macd"].reason.startswith("insufficient data")
    expected = (0.4 * by_name["rsi"].score + 0.3 * by_name["moving_average"].score) / 0.7
    assert ev.score == pytest.approx(expected)


def test_no_data_at_all_holds_with_a_reason():
    ev = evaluate(config(), make_candles(np.array([100.0, 101.0])), ConfirmationState(), T0)
    assert ev.score == 0.0
    assert ev.action is Action.HOLD
    assert any("no enabled signal had enough data" in r for r in ev.reasons)


def test_all_signals_disabled_never_acts(random_walk):
    specs = tuple(SignalSpec(s.name, False, s.weight, s.params) for s in config().signals)
    ev = evaluate(BotConfig(signals=specs), random_walk, ConfirmationState(), T0)
    assert ev.action is Action.HOLD
    assert ev.signals == ()
    assert "no signal is enabled" in ev.reasons


def test_a_signal_that_raises_becomes_a_reason(random_walk, monkeypatch):
    cfg = config()
    _, rsi = next((spec, sig) for spec, sig in cfg.built if spec.name == "rsi")

    def broken(candles):
        raise RuntimeError("boom")

    monkeypatch.setattr(rsi, "calculate", broken)
    ev = evaluate(cfg, random_walk, ConfirmationState(), T0)
    assert any("rsi: error: boom" in r for r in ev.reasons)
    assert {s.name for s in ev.signals if s.score is not None} == {"moving_average", "macd"}


def test_evaluate_is_pure(random_walk):
    cfg = config()
    a = evaluate(cfg, random_walk, ConfirmationState(), T0)
    b = evaluate(cfg, random_walk, ConfirmationState(), T0)
    assert a.as_dict() == b.as_dict()


# --- confirmation ------------------------------------------------------------
def test_new_action_starts_the_window():
    c, _ = confirm(Action.BUY, ConfirmationState(), T0, WINDOW, STALE)
    assert (c.action, c.since, c.confirmed) == (Action.BUY, T0, False)
    assert c.remaining == WINDOW


def test_action_held_for_the_window_is_confirmed():
    state = ConfirmationState(Action.BUY, T0, T0 + timedelta(minutes=4))
    c, _ = confirm(Action.BUY, state, T0 + timedelta(minutes=4, seconds=59), WINDOW, STALE)
    assert not c.confirmed
    state = ConfirmationState(Action.BUY, T0, T0 + timedelta(minutes=4, seconds=59))
    c, _ = confirm(Action.BUY, state, T0 + WINDOW, WINDOW, STALE)
    assert c.confirmed and c.progress == 1.0 and c.remaining == timedelta(0)


def test_change_of_action_resets_the_window():
    state = ConfirmationState(Action.BUY, T0, T0 + timedelta(minutes=4))
    c, _ = confirm(Action.SELL, state, T0 + timedelta(minutes=4, seconds=30), WINDOW, STALE)
    assert c.action is Action.SELL
    assert c.since == T0 + timedelta(minutes=4, seconds=30)
    assert not c.confirmed


def test_hold_resets_the_window():
    c, _ = confirm(Action.HOLD, ConfirmationState(Action.BUY, T0, T0), T0 + timedelta(minutes=1), WINDOW, STALE)
    assert c.action is Action.HOLD and c.since is None and not c.confirmed


def test_zero_window_confirms_at_once():
    c, _ = confirm(Action.SELL, ConfirmationState(), T0, timedelta(0), STALE)
    assert c.confirmed


def test_stale_confirmation_restarts():
    state = ConfirmationState(Action.BUY, T0, T0 + timedelta(minutes=1))
    later = T0 + timedelta(hours=3)
    c, note = confirm(Action.BUY, state, later, WINDOW, STALE)
    assert c.since == later and not c.confirmed
    assert note and "restarted" in note


def test_clock_going_backwards_never_confirms_early():
    state = ConfirmationState(Action.BUY, T0, T0)
    c, _ = confirm(Action.BUY, state, T0 - timedelta(seconds=30), WINDOW, STALE)
    assert c.elapsed == timedelta(0) and not c.confirmed


def test_evaluation_carries_state_through_ticks(random_walk):
    cfg = config(confirmation_minutes=5, buy_threshold=0.01, sell_threshold=-0.01)
    state = ConfirmationState()
    seen = []
    for minute in range(0, 7):
        ev = evaluate(cfg, random_walk, state, T0 + timedelta(minutes=minute))
        state = ev.state
        seen.append(ev.confirmation.confirmed)
    assert ev.action is not Action.HOLD  # same candles: the action holds
    assert seen == [False] * 5 + [True, True]
