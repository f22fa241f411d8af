"""The evaluator: signals -> one score, an action, a temperature, a confirmation.

Pure: it sees a frozen config, a candle series, the confirmation carried over
from the previous evaluation and the time, and returns a value. Live and paper
trading call ``evaluate``; the per-candle rules inside it (weighing the
scores, the action, the confirmation step) live in ``trading.rules``, which
the backtester's compiled loop calls too.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bots.config import BotConfig
from market.types import Candles
from trading import rules


class Action(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class Temperature(enum.StrEnum):
    """How strong the score is, whatever its direction."""

    FROZEN = "FROZEN"
    COOL = "COOL"
    WARM = "WARM"
    HOT = "HOT"

    @property
    def emoji(self) -> str:
        return {"FROZEN": "🧊", "COOL": "❄️", "WARM": "🌡️", "HOT": "🔥"}[self.value]


# Lower bounds of |score| for each temperature, hottest first.
TEMPERATURE_BOUNDS = ((0.3, Temperature.HOT), (0.15, Temperature.WARM), (0.05, Temperature.COOL))


def temperature_of(score: float) -> Temperature:
    """FROZEN < 0.05 <= COOL < 0.15 <= WARM < 0.3 <= HOT, on |score|."""
    magnitude = abs(score)
    for bound, temp in TEMPERATURE_BOUNDS:
        if magnitude >= bound:
            return temp
    return Temperature.FROZEN


ACTIONS = {rules.HOLD: Action.HOLD, rules.BUY: Action.BUY, rules.SELL: Action.SELL}
ACTION_CODES = {action: code for code, action in ACTIONS.items()}


def action_of(score: float, buy_threshold: float, sell_threshold: float) -> Action:
    return ACTIONS[rules.action_code(score, buy_threshold, sell_threshold)]


@dataclass(frozen=True)
class ConfirmationState:
    """What a bot carries between evaluations: the pending action and since when.

    ``seen_at`` is the last evaluation that observed the action; a pending
    action not observed for a while is stale and starts over, so a bot that
    was stopped mid-confirmation cannot trade on a signal it never watched.
    """

    action: Action = Action.HOLD
    since: datetime | None = None
    seen_at: datetime | None = None


@dataclass(frozen=True)
class Confirmation:
    action: Action
    since: datetime | None
    required: timedelta
    elapsed: timedelta
    confirmed: bool

    @property
    def remaining(self) -> timedelta:
        return max(self.required - self.elapsed, timedelta(0))

    @property
    def progress(self) -> float:
        """0..1 share of the window held; 1 once confirmed."""
        if self.action is Action.HOLD:
            return 0.0
        if self.confirmed or self.required.total_seconds() == 0:
            return 1.0
        return min(1.0, self.elapsed / self.required)


@dataclass(frozen=True)
class SignalBreakdown:
    name: str
    weight: float
    score: float | None
    contribution: float
    indicators: dict[str, float | None]
    reason: str


@dataclass(frozen=True)
class Evaluation:
    time: datetime
    score: float
    action: Action
    temperature: Temperature
    signals: tuple[SignalBreakdown, ...]
    confirmation: Confirmation
    reasons: tuple[str, ...]
    candle_time: datetime | None = None
    close: float | None = None

    @property
    def state(self) -> ConfirmationState:
        """The confirmation to carry into the next evaluation."""
        c = self.confirmation
        if c.action is Action.HOLD:
            return ConfirmationState()
        return ConfirmationState(c.action, c.since, self.time)

    @property
    def indicators(self) -> dict[str, float | None]:
        merged: dict[str, float | None] = {}
        for s in self.signals:
            merged.update(s.indicators)
        return merged

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored on the bot and returned by the API."""
        c = self.confirmation
        return {
            "time": self.time.isoformat(),
            "score": round(self.score, 6),
            "action": self.action.value,
            "temperature": self.temperature.value,
            "candle_time": self.candle_time.isoformat() if self.candle_time else None,
            "close": self.close,
            "signals": [
                {
                    "name": s.name,
                    "weight": s.weight,
                    "score": None if s.score is None else round(s.score, 6),
                    "contribution": round(s.contribution, 6),
                    "indicators": {k: (None if v is None else round(v, 8)) for k, v in s.indicators.items()},
                    "reason": s.reason,
                }
                for s in self.signals
            ],
            "confirmation": {
                "action": c.action.value,
                "since": c.since.isoformat() if c.since else None,
                "required_seconds": c.required.total_seconds(),
                "elapsed_seconds": c.elapsed.total_seconds(),
                "remaining_seconds": c.remaining.total_seconds(),
                "progress": round(c.progress, 4),
                "confirmed": c.confirmed,
            },
            "reasons": list(self.reasons),
        }


def confirm(
    action: Action, state: ConfirmationState, now: datetime, window: timedelta, stale_after: timedelta
) -> tuple[Confirmation, str | None]:
    """Advance the confirmation state machine by one observation.

    A hold or a change of action resets the window; an action must then be
    observed continuously for ``window`` before it is confirmed (0 = at once).
    """
    since_us, elapsed_us, confirmed, restarted = rules.confirm_step(
        ACTION_CODES[action],
        ACTION_CODES[state.action],
        rules.micros(state.since),
        rules.micros(state.seen_at),
        rules.micros(now),
        rules.micros_of(window),
        rules.micros_of(stale_after),
    )
    if action is Action.HOLD:
        return Confirmation(Action.HOLD, None, window, timedelta(0), False), None
    note = None
    if restarted:
        note = f"confirmation of {action.value} restarted: not observed since {state.seen_at.isoformat()}"
    since = state.since if since_us == rules.micros(state.since) else now
    return Confirmation(action, since, window, timedelta(microseconds=elapsed_us), confirmed), note


def confirmation_timing(config: BotConfig) -> tuple[timedelta, timedelta]:
    """The confirmation window and how long a pending action may go unobserved before it restarts."""
    window = timedelta(minutes=config.confirmation_minutes)
    return window, max(2 * config.granularity.delta, window, timedelta(minutes=2))


def evaluate(config: BotConfig, candles: Candles, state: ConfirmationState, now: datetime) -> Evaluation:
    """Score the bot's signals on ``candles`` as of ``now``.

    The score is the weighted mean of the enabled signals that had data (0
    when none had). A signal that raises is recorded as a reason, never a
    crashed tick.
    """
    breakdown: list[SignalBreakdown] = []
    reasons: list[str] = []
    weighted, total_weight = 0.0, 0.0
    for spec, signal in config.built:
        try:
            result = signal.calculate(candles)
        except Exception as exc:
            breakdown.append(SignalBreakdown(spec.name, spec.weight, None, 0.0, {}, f"error: {exc}"))
            reasons.append(f"{spec.name}: error: {exc}")
            continue
        score = result.score
        if score is not None and not math.isfinite(score):
            score = None
        if score is not None:
            weighted, total_weight = rules.weigh(weighted, total_weight, spec.weight, score)
        breakdown.append(SignalBreakdown(spec.name, spec.weight, score, 0.0, result.indicators, result.reason))
        reasons.append(f"{spec.name}: {result.reason}")
    score = rules.combined_score(weighted, total_weight)
    breakdown = [
        SignalBreakdown(
            b.name,
            b.weight,
            b.score,
            (b.weight * b.score / total_weight) if (b.score is not None and total_weight > 0) else 0.0,
            b.indicators,
            b.reason,
        )
        for b in breakdown
    ]
    if not config.built:
        reasons.append("no signal is enabled")
    elif total_weight == 0:
        reasons.append("no enabled signal had enough data; holding")
    action = action_of(score, config.buy_threshold, config.sell_threshold) if total_weight > 0 else Action.HOLD
    window, stale_after = confirmation_timing(config)
    confirmation, note = confirm(action, state, now, window, stale_after)
    if note:
        reasons.append(note)
    last_time = None
    close = None
    if len(candles):
        last_time = datetime.fromtimestamp(int(candles.time[-1]), tz=UTC)
        close = float(candles.close[-1])
    return Evaluation(
        time=now,
        score=score,
        action=action,
        temperature=temperature_of(score),
        signals=tuple(breakdown),
        confirmation=confirmation,
        reasons=tuple(reasons),
        candle_time=last_time,
        close=close,
    )
