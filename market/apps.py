from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The Coinbase SDK attaches its own stderr handler when imported; import
        # it now so that handler, like ours, formats through the redaction filter.
        import coinbase.rest  # noqa: F401

        from autotrader.logging import install_redaction

        install_redaction()
