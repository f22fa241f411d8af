"""Backtest/live parity: the same bot on the same candles places the same orders, to the last digit.

The live side is the real runner (trading.runner.Runner) on a replay market
moved one candle at a time, just after each candle closes, trading on the
paper exchange with its database wallet, and the daily-reset task run before
each tick as the worker would. The backtester must produce the same fills
(times, sides, sizes, prices, fees), the same rejected orders and the same
wallet.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bots.services import bot_create, bot_start
from market.cache import CachedMarketData
from market.clock import ManualClock
from market.models import PaperBalance
from market.paper import PaperExchange, paper_deposit
from market.replay import ReplayMarket
from market.services import market_use
from tests.backtest.conftest import FAST_SIGNALS, G5, data, walk
from trading.backtest import run
from trading.models import Order, Trade
from trading.runner import Runner
from trading.tasks import daily_reset

pytestmark = pytest.mark.django_db
FEE, SLIPPAGE = Decimal("0.006"), Decimal("0.0005")
JUST_AFTER = timedelta(seconds=1)

SCENARIOS = {
    # Tranches, a confirmation window of two candles, a cooldown, a cap on the position.
    "tranches_and_cooldown": (
        walk(480, seed=3, vol=0.005, start=1_767_225_600 - 300 * 200),
        {
            "confirmation_minutes": 10,
            "cooldown_minutes": 15,
            "trade_step_pct": "0.4",
            "position_size_usd": "120",
            "max_position_usd": "400",
            "max_trades_per_day": 40,
            "daily_loss_limit_usd": "500",
        },
    ),
    # A tight daily loss limit (pause until the next day) and a cap on trades per day, across midnights.
    "daily_limits": (
        walk(480, seed=8, vol=0.006, start=1_767_225_600 - 300 * 150),
        {
            "confirmation_minutes": 5,
            "trade_step_pct": "0",
            "position_size_usd": "200",
            "max_position_usd": "600",
            "max_trades_per_day": 6,
            "daily_loss_limit_usd": "3",
        },
    ),
}


def live_run(candles, product, values):
    """Drive the real runner over ``candles``; returns (fills, rejected orders, wallet)."""
    clock = ManualClock(datetime.fromtimestamp(int(candles.time[0]), UTC))
    market = CachedMarketData(ReplayMarket(product, candles, G5, clock))
    market_use(market)
    exchange = PaperExchange(market, fee_rate=FEE, slippage_rate=SLIPPAGE)
    paper_deposit("USD", Decimal("1000"))
    bot = bot_create(name="parity", product_id=product.product_id, signal_config=FAST_SIGNALS, **values)
    bot_start(bot=bot, at=clock.now())
    runner = Runner(market=market, exchange_for=lambda b: exchange, owner="parity")
    for t in candles.time[:-1]:
        clock.set(datetime.fromtimestamp(int(t) + G5.seconds, UTC) + JUST_AFTER)
        daily_reset()
        report = runner.tick()
        assert report.count("error") == 0, [r.detail for r in report.results]
    fills = [
        (t.executed_at - JUST_AFTER, t.side, t.size, t.price, t.fee)
        for t in Trade.objects.filter(bot=bot).order_by("executed_at", "id")
    ]
    rejected = [(o.created_at - JUST_AFTER, o.side) for o in Order.objects.filter(status="REJECTED").order_by("id")]
    wallet = {b.currency: b.available for b in PaperBalance.objects.all()}
    return fills, rejected, wallet, bot.config


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_backtest_places_exactly_the_orders_the_live_runner_places(scenario, market, btc):
    candles, values = SCENARIOS[scenario]
    live_fills, live_rejected, wallet, config = live_run(candles, btc, values)

    result = run(config, data(candles, btc, starting_balance=Decimal("1000"), fee_rate=FEE, slippage_rate=SLIPPAGE))
    fills = [(f.time, f.side.value, f.size, f.price, f.fee) for f in result.fills()]
    rejected = [(datetime.fromisoformat(r["time"]), r["side"]) for r in result.rejected()]

    sides = [f[1] for f in fills]
    assert sides.count("SELL") >= 3 and sides.count("BUY") > sides.count("SELL"), "too few trades to mean much"
    assert fills == live_fills
    assert rejected == live_rejected
    assert result.units.cash_decimal(int(result.cash[result.last])) == wallet["USD"]
    assert result.units.base_decimal(int(result.base[result.last])) == wallet.get("BTC", 0)


def test_the_daily_limits_scenario_really_pauses_and_caps(market, btc):
    # Guards the scenario above: it must exercise the pause and the cap it is there for.
    candles, values = SCENARIOS["daily_limits"]
    config = live_config(values)
    skips = run(config, data(candles, btc, starting_balance=Decimal("1000"), fee_rate=FEE, slippage_rate=SLIPPAGE))
    counts = skips.skips()
    assert counts.get("daily_loss_limit", 0) >= 1 and counts["paused"] > 0
    assert counts.get("max_trades_per_day", 0) >= 1


def live_config(values):
    from bots.config import bot_config_from_values

    return bot_config_from_values({"signal_config": FAST_SIGNALS, **values})
