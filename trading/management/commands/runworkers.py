"""django-q2's workers (``qcluster``), replaced when the cluster breaks: see trading/workers.py."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from trading.workers import WorkerSupervisor


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:
        settings.SECRET_KEY  # noqa: B018 - django-q2 signs tasks with it: fail now, not in a worker
        supervisor = WorkerSupervisor(stuck_seconds=settings.Q_STUCK_SECONDS)
        self.stdout.write(
            f"runworkers: {settings.Q_CLUSTER['workers']} django-q2 workers, "
            f"restarted when stuck for {settings.Q_STUCK_SECONDS:g} s"
        )
        supervisor.run()
