"""Writes of the bots app: the activity feed, create, update, start, stop, pause, reset, delete, evaluate now."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError

from autotrader.exceptions import Conflict
from autotrader.logging import redact
from bots.evaluator import Action, Evaluation, evaluate
from bots.models import ActivityEvent, Bot
from market.exchange import MarketData

log = logging.getLogger(__name__)
Kind = ActivityEvent.Kind
Level = ActivityEvent.Level


def activity_record(
    *,
    kind: str,
    message: str,
    at: datetime,
    bot: Bot | None = None,
    level: str = Level.INFO,
    data: dict[str, Any] | None = None,
) -> ActivityEvent:
    message = redact(message)  # exception texts end up here: never store a secret
    log.log({"info": logging.INFO, "warning": logging.WARNING}.get(level, logging.ERROR), "%s: %s", kind, message)
    return ActivityEvent.objects.create(bot=bot, kind=kind, level=level, message=message[:1000], data=data or {}, at=at)


def bot_create(**fields: Any) -> Bot:
    """Create a bot after full validation (the model's clean runs bots.config)."""
    bot = Bot(**fields)
    bot.full_clean()
    bot.save()
    return bot


def bot_update(*, bot: Bot, **fields: Any) -> Bot:
    """Change the given settings; only their columns are written.

    The runner writes the bot's live state (status, pause, scores) meanwhile: a
    whole-row save of the copy read at the start of a request would undo a
    pause made in between.
    """
    for name, value in fields.items():
        setattr(bot, name, value)
    bot.full_clean()
    bot.save(update_fields=[*fields, "updated_at"])
    return bot


def _set_status(
    bot: Bot, status: str, reason: str, at: datetime, message: str, level: str = "info", code: str = ""
) -> Bot:
    with transaction.atomic():
        Bot.objects.filter(pk=bot.pk).update(
            status=status,
            paused_reason=reason,  # redacted, then cut to the column, as it is stored
            pause_code=code,
            paused_at=at if status == Bot.Status.PAUSED else None,
        )
        bot.refresh_from_db()
    activity_record(kind=Kind.STATE, bot=bot, at=at, message=message, level=level)
    return bot


def bot_start(*, bot: Bot, at: datetime) -> Bot:
    """Run the bot; a fresh start also clears its failure count and confirmation.

    It clears the passed live checks too: a live bot is checked again before
    its first real order after every start (a bot the checks paused included).
    """
    Bot.objects.filter(pk=bot.pk).update(
        live_checked_at=None,
        consecutive_failures=0,
        confirmation_action=Action.HOLD.value,
        confirmation_since=None,
        confirmation_seen_at=None,
    )
    return _set_status(bot, Bot.Status.RUNNING, "", at, f"{bot.name} started")


def bot_stop(*, bot: Bot, at: datetime) -> Bot:
    return _set_status(bot, Bot.Status.STOPPED, "", at, f"{bot.name} stopped")


def bot_pause(*, bot: Bot, reason: str, at: datetime, code: str = "") -> Bot:
    return _set_status(bot, Bot.Status.PAUSED, reason, at, f"{bot.name} paused: {reason}", level="warning", code=code)


def bot_reset_confirmation(*, bot: Bot, at: datetime, why: str = "reset by hand") -> Bot:
    Bot.objects.filter(pk=bot.pk).update(
        confirmation_action=Action.HOLD.value, confirmation_since=None, confirmation_seen_at=None
    )
    bot.refresh_from_db()
    activity_record(kind=Kind.CONFIRMATION, bot=bot, at=at, message=f"{bot.name}: confirmation cleared ({why})")
    return bot


BOT_HAS_HISTORY = "{name} has placed orders; its history is kept, so stop it instead of deleting it"


def bot_delete(*, bot: Bot, at: datetime) -> None:
    """Delete a bot that never placed an order; one that did keeps its orders and fills."""
    name = bot.name
    try:
        with transaction.atomic():
            bot.delete()
    except ProtectedError as exc:
        raise Conflict(BOT_HAS_HISTORY.format(name=name)) from exc
    activity_record(kind=Kind.STATE, at=at, message=f"{name} deleted")


# --- evaluation ----------------------------------------------------------
def bot_evaluate(bot: Bot, market: MarketData, now: datetime) -> Evaluation:
    """Evaluate the bot on the market's closed candles as of ``now`` (no side effects)."""
    config = bot.config
    g = config.granularity.delta
    candles = market.candles(bot.product_id, config.granularity, now - g * config.history_needed, now)
    return evaluate(config, candles, bot.confirmation_state, now)


def bot_evaluate_now(bot: Bot, market: MarketData) -> Evaluation:
    """Evaluate and store the result (the admin's and the dashboard's "evaluate now"); never trades."""
    now = market.now()
    evaluation = bot_evaluate(bot, market, now)
    bot_evaluation_save(bot, evaluation, market.ticker(bot.product_id).price)
    return evaluation


def bot_evaluation_save(bot: Bot, evaluation: Evaluation, price: Decimal) -> None:
    """Store the latest evaluation on the bot row; a confirmation that starts or fades goes to the feed."""
    state = evaluation.state
    c = evaluation.confirmation
    previous = bot.confirmation_action
    Bot.objects.filter(pk=bot.pk).update(
        last_score=evaluation.score,
        last_action=evaluation.action.value,
        last_temperature=evaluation.temperature.value,
        last_evaluated_at=evaluation.time,
        last_evaluation=evaluation.as_dict(),
        last_price=price,
        confirmation_action=state.action.value,
        confirmation_since=state.since,
        confirmation_seen_at=state.seen_at,
    )
    if c.action is not Action.HOLD and c.action.value != previous:
        activity_record(
            kind=Kind.CONFIRMATION,
            bot=bot,
            at=evaluation.time,
            message=f"{bot.name}: {c.action.value} signal at score {evaluation.score:+.3f}; "
            f"confirming for {c.required.total_seconds() / 60:g} min",
            data={"action": c.action.value, "score": evaluation.score},
        )
    elif c.action is Action.HOLD and previous != Action.HOLD.value:
        activity_record(
            kind=Kind.CONFIRMATION,
            bot=bot,
            at=evaluation.time,
            message=f"{bot.name}: {previous} signal faded (score {evaluation.score:+.3f}); confirmation reset",
        )
