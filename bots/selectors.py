"""Reads of bots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from bots.evaluator import Action, Confirmation
from bots.models import Bot


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
    required = timedelta(minutes=bot.confirmation_minutes)
    action = Action(bot.confirmation_action)
    if action is Action.HOLD or bot.confirmation_since is None:
        return Confirmation(Action.HOLD, None, required, timedelta(0), False)
    elapsed = max(now - bot.confirmation_since, timedelta(0))
    return Confirmation(action, bot.confirmation_since, required, elapsed, elapsed >= required)
