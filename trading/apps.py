from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from trading.tasks import worker_spawned

        # Connected before django-q2 forks its workers, so each new worker receives it.
        post_spawn.connect(worker_spawned, dispatch_uid="autotrader-worker-heartbeat")
