from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from market.fields import exact_decimal_install

        exact_decimal_install()
        # The Coinbase SDK attaches its own stderr handlers when imported; import
        # them now and put them behind the redaction filter, like ours.
        from market.coinbase.client import sdk_logging_tame

        sdk_logging_tame()
