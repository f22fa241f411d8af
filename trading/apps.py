from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn, pre_execute

        from trading.tasks import task_taken, worker_spawned

        # Connected before django-q2 forks its workers, so each new worker receives them.
        post_spawn.connect(worker_spawned, dispatch_uid="autotrader-worker-heartbeat")
        pre_execute.connect(task_taken, dispatch_uid="autotrader-task-taken")
