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

from bots.config import bot_config_from_values
from bots.services import bot_create, bot_start
from market.cache import CachedMarketData
from market.clock import ManualClock
from market.models import PaperBalance
from market.paper import PaperExchange, paper_deposit
from market.replay import ReplayMarket
from market.services import market_use
from tests.backtest.conftest import FAST_SIGNALS, G5, T0, swings
from trading.backtest import BacktestData, BacktestSettings, run
from trading.models import Order, Trade
from trading.runner import Runner
from trading.tasks import daily_reset

pytestmark = pytest.mark.django_db
FEE, SLIPPAGE = Decimal("0.006"), Decimal("0.0005")
JUST_AFTER = timedelta(seconds=1)
MIDNIGHT = T0

TINY_SIGNALS = {
    "rsi": {"enabled": True, "weight": 0.4, "period": 4, "buy_threshold": 35, "sell_threshold": 65},
    "moving_average": {"enabled": True, "weight": 0.3, "fast_period": 3, "slow_period": 6, "ma_type": "ema"},
    "macd": {"enabled": True, "weight": 0.3, "fast_period": 3, "slow_period": 7, "signal_period": 3},
}
SCENARIOS = {
    # Short, for the fast suite: every signal, confirmation, cooldown, tranches, the daily trade cap.
    "quick": (
        swings(250, seed=1, period=30),
        Decimal("0"),
        {
            "signal_config": TINY_SIGNALS,
            "confirmation_minutes": 5,
            "cooldown_minutes": 10,
            "trade_step_pct": "0.3",
            "position_size_usd": "150",
            "max_position_usd": "450",
            "max_trades_per_day": 8,
        },
    ),
    # Tranches, a confirmation window of two candles, a cooldown, a cap on the position, a bid-ask spread.
    "tranches_and_cooldown": (
        swings(480, seed=8, period=48, start=MIDNIGHT - 300 * 200),
        Decimal("0.0004"),
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
    # A tight daily loss limit (paused until the next day) and a cap on trades per day, across two midnights.
    "daily_limits": (
        swings(576, seed=7, period=36, start=MIDNIGHT - 300 * 120),
        Decimal("0"),
        {
            "confirmation_minutes": 5,
            "trade_step_pct": "0",
            "position_size_usd": "200",
            "max_position_usd": "600",
            "max_trades_per_day": 6,
            "daily_loss_limit_usd": "1.5",
        },
    ),
}


def live_run(candles, product, spread, values):
    """Drive the real runner over ``candles``; returns (fills, rejected orders, wallet, the bot's config)."""
    clock = ManualClock(datetime.fromtimestamp(int(candles.time[0]), UTC))
    market = CachedMarketData(ReplayMarket(product, candles, G5, clock, spread_rate=spread))
    market_use(market)
    exchange = PaperExchange(market, fee_rate=FEE, slippage_rate=SLIPPAGE)
    paper_deposit("USD", Decimal("1000"))
    values = {"signal_config": FAST_SIGNALS, **values}
    bot = bot_create(name="parity", product_id=product.product_id, **values)
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


@pytest.mark.parametrize(
    "scenario",
    # The live runner takes tens of milliseconds a tick (database writes): the long scenarios are slow tests.
    [pytest.param(name, marks=[] if name == "quick" else [pytest.mark.slow]) for name in SCENARIOS],
)
def test_backtest_places_exactly_the_orders_the_live_runner_places(scenario, market, btc):
    candles, spread, values = SCENARIOS[scenario]
    live_fills, live_rejected, wallet, config = live_run(candles, btc, spread, values)

    result = run(config, backtest_data(candles, btc, spread))
    fills = [(f.time, f.side.value, f.size, f.price, f.fee) for f in result.fills()]
    rejected = [(datetime.fromisoformat(r["time"]), r["side"]) for r in result.rejected()]

    sides = [f[1] for f in fills]
    assert sides.count("SELL") >= 3 and sides.count("BUY") > sides.count("SELL"), "too few trades to mean much"
    assert fills == live_fills
    assert rejected == live_rejected
    assert result.units.cash_decimal(int(result.cash[result.last])) == wallet["USD"]
    assert result.units.base_decimal(int(result.base[result.last])) == wallet.get("BTC", 0)


def test_the_scenarios_exercise_the_rules_they_are_there_for(btc):
    counts = {}
    for name, (candles, spread, values) in SCENARIOS.items():
        config = bot_config_from_values({"signal_config": FAST_SIGNALS, **values})
        counts[name] = run(config, backtest_data(candles, btc, spread)).skips()
    assert all(counts["quick"].get(code, 0) > 0 for code in ("cooldown", "tranche_step", "max_trades_per_day"))
    assert counts["tranches_and_cooldown"].get("cooldown", 0) > 0
    assert counts["tranches_and_cooldown"].get("tranche_step", 0) > 0
    assert counts["tranches_and_cooldown"].get("unconfirmed", 0) > 0
    assert counts["daily_limits"].get("daily_loss_limit", 0) > 0 and counts["daily_limits"]["paused"] > 0
    assert counts["daily_limits"].get("max_trades_per_day", 0) > 0


def test_the_live_window_is_shorter_than_the_series():
    # Otherwise every live evaluation would see the whole prefix and parity would be trivially exact.
    for candles, _, values in SCENARIOS.values():
        config = bot_config_from_values({"signal_config": FAST_SIGNALS, **values})
        assert config.history_needed + 50 < len(candles)


def backtest_data(candles, product, spread):
    settings = BacktestSettings(
        starting_balance=Decimal("1000"), fee_rate=FEE, slippage_rate=SLIPPAGE, spread_rate=spread
    )
    return BacktestData(candles, product, G5, settings)
