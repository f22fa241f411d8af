"""``manage.py`` for the system tests' subprocesses, with the suite's fixed signal registered.

The bots in these tests trade on a score the test sets (``tests.conftest.FixedSignal``),
so every process that evaluates them must know that signal. Everything else is the
real command: ``python tests/system/launch.py runbots`` is ``manage.py runbots``.
``python tests/system/launch.py seed '<json>'`` syncs the products and creates the bots.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def seed(spec: dict) -> list[int]:
    """Create running bots on the fixed signal (live when ``spec["live"]``); returns their ids."""
    from bots.services import bot_create, bot_start
    from market.services import get_market_data, products_sync

    products_sync()
    now = get_market_data().now()
    ids = []
    for values in spec["bots"]:
        score = values.pop("score", 1.0)
        bot = bot_create(
            signal_config={"fixed": {"enabled": True, "weight": 1.0, "score": score}},
            confirmation_minutes=0,
            cooldown_minutes=0,
            position_size_usd=Decimal(str(values.pop("usd", 50))),
            **values,
        )
        ids.append(bot_start(bot=bot, at=now).pk)
    return ids


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autotrader.settings")
    import django

    django.setup()
    from bots.signals import REGISTRY
    from tests.conftest import FixedSignal

    REGISTRY["fixed"] = FixedSignal
    if sys.argv[1:2] == ["seed"]:
        print(json.dumps(seed(json.loads(sys.argv[2]))))
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
