"""Find (--check) or clear (--fix) confirmations stuck on an action no longer signalled."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bots.selectors import stuck_confirmations
from bots.services import bot_reset_confirmation
from market.services import get_market_data


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--check", action="store_true", help="report stuck confirmations; exit 1 if any")
        group.add_argument("--fix", action="store_true", help="clear stuck confirmations")

    def handle(self, *args, check: bool, fix: bool, **options) -> None:
        now = get_market_data().now()
        stuck = stuck_confirmations(now=now)
        if not stuck:
            self.stdout.write("No stuck confirmations.")
            return
        for lock in stuck:
            self.stdout.write(f"{lock.bot.name} (id {lock.bot.pk}): {lock.why}")
            if fix:
                bot_reset_confirmation(bot=lock.bot, at=now, why=lock.why)
        if fix:
            self.stdout.write(self.style.SUCCESS(f"Cleared {len(stuck)} stuck confirmation(s)."))
        else:
            raise CommandError(f"{len(stuck)} stuck confirmation(s); run with --fix to clear them")
