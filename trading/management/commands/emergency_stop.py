"""Engage (on) or release (off) the global kill switch; 'status' shows it."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand

from market.services import get_market_data
from trading.services import kill_switch_get, kill_switch_set


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("state", choices=["on", "off", "status"])
        parser.add_argument("--reason", default="", help="why (shown on every page while engaged)")

    def handle(self, *args, state: str, reason: str, **options) -> None:
        if state == "status":
            switch = kill_switch_get()
            self.stdout.write(f"kill switch: {switch}" + (f" ({switch.reason})" if switch.reason else ""))
            return
        engaged = state == "on"
        switch = kill_switch_set(
            engaged=engaged,
            reason=reason or ("emergency stop from the command line" if engaged else ""),
            by=f"{getpass.getuser()} (manage.py)",
            at=get_market_data().now(),
        )
        style = self.style.ERROR if engaged else self.style.SUCCESS
        self.stdout.write(style(f"kill switch {switch}: {'no new orders' if engaged else 'trading may resume'}"))
