"""The simulated market's clock never goes back, whatever moment a process dies at.

The runner used to resume the market after a stop at the last ticker
heartbeat's market time. That heartbeat is written after the tick's orders,
so a ticker killed in between left orders later than the time the market
resumed at, and the next orders were stamped earlier than them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from bots.models import Bot
from bots.services import bot_create, bot_start
from market.models import Heartbeat
from market.paper import paper_deposit
from market.services import get_market_data, market_reset, products_sync
from trading import runner as runner_module
from trading.models import Order

WALL = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Killed(BaseException):
    """SIGKILL, as far as the code under test can tell: nothing after it runs."""


@pytest.fixture
def simulated(settings, fixed_signal, time_machine):
    settings.MARKET_DATA = "simulated"
    settings.TRADING_MODE = "paper"
    settings.SIM_SPEED = 60
    settings.EVALUATION_INTERVAL_SECONDS = 10
    settings.EVALUATION_DISPATCH = "inline"
    time_machine.move_to(WALL, tick=False)
    market_reset()
    products_sync()
    paper_deposit("USD", Decimal("1000"))
    return time_machine


def buying_bot(name: str) -> Bot:
    bot = bot_create(
        name=name,
        product_id="BTC-USD",
        signal_config={"fixed": {"enabled": True, "weight": 1.0, "score": 1.0}},
        confirmation_minutes=0,
        cooldown_minutes=0,
    )
    return bot_start(bot=bot, at=get_market_data().now())


@pytest.mark.django_db
def test_orders_keep_their_order_in_market_time_across_a_kill_and_a_restart(simulated, monkeypatch):
    buying_bot("first")
    call_command("runbots", "--once")  # a tick, and its heartbeat

    simulated.move_to(WALL + timedelta(seconds=10), tick=False)
    second = buying_bot("second")

    def killed_before_the_heartbeat(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(runner_module, "heartbeat", killed_before_the_heartbeat)
        with pytest.raises(Killed):
            call_command("runbots", "--once")  # the tick's orders are written, then the process dies
    killed_at = Order.objects.get(bot=second).created_at

    simulated.move_to(WALL + timedelta(minutes=15), tick=False)  # down for a while, then started again
    market_reset()
    assert get_market_data().now() >= killed_at
    third = buying_bot("third")
    call_command("runbots", "--once")

    times = list(Order.objects.order_by("id").values_list("created_at", flat=True))
    assert len(times) >= 3 and Order.objects.filter(bot=third).exists()
    assert times == sorted(times), [t.isoformat() for t in times]


@pytest.mark.django_db
def test_a_replayed_market_carries_on_after_a_restart_instead_of_starting_over(simulated, settings, tmp_path):
    csv = tmp_path / "btc.csv"
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    rows = [f"{start + 300 * i},100,101,99,{100 + i % 7},5" for i in range(20_000)]  # 69 days of 5-minute candles
    csv.write_text("time,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    settings.SIM_CSV = str(csv)
    market_reset()

    def tick_time() -> datetime:
        call_command("runbots", "--once")
        return datetime.fromisoformat(Heartbeat.objects.get(role="ticker").info["market_time"])

    first = tick_time()
    simulated.move_to(WALL + timedelta(seconds=30), tick=False)
    before_the_stop = tick_time()
    simulated.move_to(WALL + timedelta(minutes=15), tick=False)
    market_reset()  # a new runner process
    assert tick_time() >= before_the_stop > first
