"""Print every process heartbeat (all hosts), the ticker lease holder, the kill switch and the bots."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from bots.models import Bot
from trading.selectors import health_snapshot, task_queue_state


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        health = health_snapshot()
        self.stdout.write(f"trading mode: {settings.TRADING_MODE}   market data: {settings.MARKET_DATA}")
        if health.kill_switch and health.kill_switch.engaged:
            self.stdout.write(self.style.ERROR(f"KILL SWITCH ENGAGED: {health.kill_switch.reason}"))
        self.stdout.write(f"ticker lease: {health.ticker_lease_holder or 'nobody'}")
        if health.unresolved_orders:
            self.stdout.write(self.style.WARNING(f"orders with an unknown outcome: {health.unresolved_orders}"))
        tasks = task_queue_state()
        queue = f"task queue: {tasks.state}, {tasks.queued if tasks.queued is not None else '?'} queued"
        queue += f", {len(tasks.clusters)} cluster(s)"
        if tasks.state == "ok":
            self.stdout.write(queue)
        else:
            self.stdout.write(self.style.ERROR(f"{queue}: {tasks.stuck or tasks.broker_error}"))
        self.stdout.write("heartbeats:")
        if not health.processes:
            self.stdout.write("  none yet")
        for p in health.processes:
            extra = ", ".join(f"{k}={v}" for k, v in sorted(p.info.items()))
            state = "" if p.alive else "  (STALE)"
            self.stdout.write(f"  {p.name:<40} {p.age_seconds:6.0f} s ago{state}  {extra}")
        self.stdout.write("bots:")
        for bot in Bot.objects.all():
            score = "—" if bot.last_score is None else f"{bot.last_score:+.3f}"
            temp = f"{bot.temperature.emoji} {bot.temperature}" if bot.temperature else ""
            self.stdout.write(f"  {bot.name:<24} {bot.product_id:<9} {bot.status:<8} score {score:>7} {temp}")
