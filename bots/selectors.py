"""Reads of bots."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from bots.evaluator import Action, Confirmation, ConfirmationState, Evaluation, Temperature, evaluate
from bots.models import Bot
from market.clock import ManualClock
from market.simulated import SimulatedMarket


@dataclass(frozen=True)
class StuckLock:
    bot: Bot
    why: str


def stuck_confirmations(*, now: datetime) -> list[StuckLock]:
    """Confirmations that no longer match any live signal.

    A pending action is stuck when its bot is not running, when the last
    evaluation saw a different action, or when no evaluation has seen it for
    STALE_CONFIRMATION_MINUTES of market time.
    """
    stale = timedelta(minutes=settings.STALE_CONFIRMATION_MINUTES)
    found = []
    for bot in Bot.objects.exclude(confirmation_action=Action.HOLD.value):
        if bot.status != Bot.Status.RUNNING:
            found.append(StuckLock(bot, f"pending {bot.confirmation_action} but the bot is {bot.status}"))
        elif bot.last_action and bot.last_action != bot.confirmation_action:
            found.append(
                StuckLock(bot, f"pending {bot.confirmation_action} but the last evaluation said {bot.last_action}")
            )
        elif bot.confirmation_seen_at is None or now - bot.confirmation_seen_at > stale:
            seen = bot.confirmation_seen_at.isoformat() if bot.confirmation_seen_at else "never"
            found.append(StuckLock(bot, f"pending {bot.confirmation_action} not observed since {seen}"))
    return found


def bot_confirmation(*, bot: Bot, now: datetime) -> Confirmation:
    """The pending action's progress as of ``now`` (market time).

    Worked out from the bot's stored state rather than read from its last
    evaluation, so the time remaining keeps counting down between ticks.
    """
    return confirmation_at(
        action=bot.confirmation_action, since=bot.confirmation_since, minutes=bot.confirmation_minutes, now=now
    )


def confirmation_at(*, action: str, since: datetime | None, minutes: float, now: datetime) -> Confirmation:
    """A pending ``action`` held ``since`` against a window of ``minutes``, as of ``now``."""
    required = timedelta(minutes=minutes)
    pending = Action(action)
    if pending is Action.HOLD or since is None:
        return Confirmation(Action.HOLD, None, required, timedelta(0), False)
    elapsed = max(now - since, timedelta(0))
    return Confirmation(pending, since, required, elapsed, elapsed >= required)


# --- the API's reads ---------------------------------------------------------
def bot_list(*, status: str | None = None, product_id: str | None = None) -> QuerySet[Bot]:
    """Bots by name, optionally of one status or pair."""
    qs = Bot.objects.order_by("name", "id")
    if status:
        qs = qs.filter(status=status)
    if product_id:
        qs = qs.filter(product_id=product_id.upper())
    return qs


@dataclass(frozen=True)
class TemperatureSummary:
    """How hot the bots run: a count per temperature (None: never evaluated), hottest first."""

    counts: dict[str, int]
    average_score: float | None
    bots: list[Bot]


def bot_temperature_summary(*, bots: Iterable[Bot]) -> TemperatureSummary:
    bots = list(bots)
    counts = {t.value: 0 for t in Temperature} | {"NONE": 0}
    for bot in bots:
        counts[bot.last_temperature or "NONE"] += 1
    scores = [b.last_score for b in bots if b.last_score is not None]
    ranked = sorted(bots, key=lambda b: (b.last_score is None, -abs(b.last_score or 0.0), b.name))
    return TemperatureSummary(counts, sum(scores) / len(scores) if scores else None, ranked)


# A fixed stretch of the simulated market: the same settings always score the same.
SAMPLE_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SAMPLE_MAX_SPAN = timedelta(days=120)
SAMPLE_FALLBACK_PRODUCT = "BTC-USD"


@dataclass(frozen=True)
class SampleEvaluation:
    evaluation: Evaluation
    product_id: str
    seed: int
    start: datetime
    end: datetime
    candles: int


def bot_evaluate_sample(*, bot: Bot) -> SampleEvaluation:
    """Score the bot's settings on simulated sample data, in memory: no database, no cache.

    Lets a user try settings without touching the bot's confirmation or the
    market-data cache. A pair the simulated market does not list is tried on
    BTC-USD's sample. Raises ConfigError for settings that no longer validate.
    """
    config = bot.config
    g = config.granularity.delta
    try:
        span = min(g * (config.history_needed + 1), SAMPLE_MAX_SPAN)
    except OverflowError:
        span = SAMPLE_MAX_SPAN
    end = SAMPLE_EPOCH + span
    market = SimulatedMarket(seed=settings.SIM_SEED, epoch=SAMPLE_EPOCH, clock=ManualClock(end))
    listed = {p.product_id for p in market.products()}
    product_id = bot.product_id if bot.product_id in listed else SAMPLE_FALLBACK_PRODUCT
    candles = market.candles(product_id, config.granularity, SAMPLE_EPOCH, end)
    evaluation = evaluate(config, candles, ConfirmationState(), end)
    return SampleEvaluation(evaluation, product_id, settings.SIM_SEED, SAMPLE_EPOCH, end, len(candles))
