"""Background housekeeping run by django-q2 (``qcluster``).

Tasks are thin and idempotent: each may run twice (at-least-once delivery).
"""

from __future__ import annotations

import logging

from django_q.models import Schedule

from bots.models import Bot
from bots.selectors import stuck_confirmations
from bots.services import bot_reset_confirmation, bot_start
from market.services import get_market_data
from trading.risk import SkipCode
from trading.services import activity_record, day_start

log = logging.getLogger(__name__)

SCHEDULES = {
    "clear stale confirmations": ("trading.tasks.confirmations_clear_stale", 5),
    "daily counters": ("trading.tasks.daily_reset", 5),
}


def confirmations_clear_stale() -> int:
    """Clear confirmations stuck on an action no live evaluation still signals."""
    now = get_market_data().now()
    stuck = stuck_confirmations(now=now)
    for lock in stuck:
        bot_reset_confirmation(bot=lock.bot, at=now, why=lock.why)
    return len(stuck)


def daily_reset() -> int:
    """At a new market day, resume bots that the daily loss limit paused yesterday.

    Trade counts and realised P&L are per market day by construction (they
    are counted from the day's trades), so only the pauses need undoing.
    """
    now = get_market_data().now()
    resumed = 0
    for bot in Bot.objects.filter(
        status=Bot.Status.PAUSED, pause_code=SkipCode.DAILY_LOSS.value, paused_at__lt=day_start(now)
    ):
        bot_start(bot=bot, at=now)
        activity_record(kind="state", bot=bot, at=now, message=f"{bot.name}: new day, daily loss limit lifted")
        resumed += 1
    return resumed


def housekeeping_schedule() -> None:
    """Create or update the django-q2 schedules (idempotent)."""
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1},
        )
