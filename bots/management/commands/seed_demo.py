"""Create the two demo bots and a 1,000 USD paper wallet (once)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand

from bots.models import Bot
from bots.services import bot_create, bot_start
from market.models import PaperBalance
from market.paper import paper_deposit
from market.services import get_market_data, products_sync

DEMO_BOTS = [
    {
        "name": "BTC Scalper",
        "product_id": "BTC-USD",
        "granularity": "5m",
        "signal_config": {
            "rsi": {"enabled": True, "weight": 0.6, "period": 14, "buy_threshold": 35, "sell_threshold": 65},
            "moving_average": {"enabled": True, "weight": 0.2, "fast_period": 5, "slow_period": 15},
            "macd": {"enabled": True, "weight": 0.2, "fast_period": 12, "slow_period": 26, "signal_period": 9},
        },
        "buy_threshold": 0.25,
        "sell_threshold": -0.25,
        "position_size_usd": Decimal("100"),
        "max_position_usd": Decimal("400"),
        "confirmation_minutes": 5,
        "cooldown_minutes": 15,
        "trade_step_pct": Decimal("0.5"),
        "max_trades_per_day": 30,
        "daily_loss_limit_usd": Decimal("100"),
    },
    {
        "name": "ETH Momentum Bot",
        "product_id": "ETH-USD",
        "granularity": "15m",
        "signal_config": {
            "rsi": {"enabled": True, "weight": 0.34, "period": 14, "buy_threshold": 30, "sell_threshold": 70},
            "moving_average": {"enabled": True, "weight": 0.33, "fast_period": 10, "slow_period": 20},
            "macd": {"enabled": True, "weight": 0.33, "fast_period": 12, "slow_period": 26, "signal_period": 9},
        },
        "buy_threshold": 0.3,
        "sell_threshold": -0.3,
        "position_size_usd": Decimal("150"),
        "max_position_usd": Decimal("450"),
        "confirmation_minutes": 5,
        "cooldown_minutes": 30,
        "trade_step_pct": Decimal("1"),
        "max_trades_per_day": 20,
        "daily_loss_limit_usd": Decimal("100"),
    },
]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-start", action="store_true", help="create the bots stopped")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any bot exists")

    def handle(self, *args, no_start: bool, if_empty: bool, **options) -> None:
        if if_empty and Bot.objects.exists():
            return
        products_sync()
        now = get_market_data().now()
        for spec in DEMO_BOTS:
            if Bot.objects.filter(name=spec["name"]).exists():
                self.stdout.write(f"{spec['name']} exists; left as it is")
                continue
            bot = bot_create(**spec)
            if not no_start:
                bot_start(bot=bot, at=now)
            self.stdout.write(self.style.SUCCESS(f"created {bot}"))
        if not PaperBalance.objects.exists():
            paper_deposit("USD", settings.PAPER_STARTING_USD)
            self.stdout.write(self.style.SUCCESS(f"paper wallet funded with {settings.PAPER_STARTING_USD} USD"))
