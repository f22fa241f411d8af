"""Print every process heartbeat (all hosts), the ticker lease holder, the kill switch and the bots."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from bots.models import Bot
from trading.models import Heartbeat, KillSwitch, Lease
from trading.runner import TICKER_LEASE


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        self.stdout.write(f"trading mode: {settings.TRADING_MODE}   market data: {settings.MARKET_DATA}")
        switch = KillSwitch.objects.filter(pk=1).first()
        if switch and switch.engaged:
            self.stdout.write(self.style.ERROR(f"KILL SWITCH ENGAGED: {switch.reason}"))
        lease = Lease.objects.filter(name=TICKER_LEASE).first()
        holder = lease.owner if lease and lease.owner and lease.until and lease.until > now else "nobody"
        self.stdout.write(f"ticker lease: {holder}")
        self.stdout.write("heartbeats:")
        beats = list(Heartbeat.objects.all())
        if not beats:
            self.stdout.write("  none yet")
        for beat in beats:
            age = (now - beat.beat_at).total_seconds()
            extra = ", ".join(f"{k}={v}" for k, v in sorted(beat.info.items()))
            self.stdout.write(f"  {beat.name:<40} {age:6.0f} s ago  {extra}")
        self.stdout.write("bots:")
        for bot in Bot.objects.all():
            score = "—" if bot.last_score is None else f"{bot.last_score:+.3f}"
            temp = f"{bot.temperature.emoji} {bot.temperature}" if bot.temperature else ""
            self.stdout.write(f"  {bot.name:<24} {bot.product_id:<9} {bot.status:<8} score {score:>7} {temp}")
