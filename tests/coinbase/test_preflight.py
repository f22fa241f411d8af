"""Going live is deliberate: the start-up checks against the fake Coinbase."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bots.models import Bot
from market.coinbase import CoinbaseExchange
from trading.live import live_preflight
from trading.models import Order

pytestmark = pytest.mark.django_db


def preflight(live_market, exchange):
    return live_preflight(exchange_for=lambda bot: exchange, market=live_market, now=live_market.now())


def test_ready_live_bot_passes_and_says_live(live_bot, live_market, cb_exchange, settings):
    settings.TRADING_MODE = "live"
    bot = live_bot()
    [result] = preflight(live_market, cb_exchange)
    assert result.ok and "trades LIVE on BTC-USD" in result.message
    bot.refresh_from_db()
    assert bot.status == Bot.Status.RUNNING


def test_key_without_trade_permission_pauses_live_bots(live_bot, live_market, cb_exchange, fake_coinbase, settings):
    settings.TRADING_MODE = "live"
    fake_coinbase.state.permissions["can_trade"] = False
    bot = live_bot()
    [result] = preflight(live_market, cb_exchange)
    bot.refresh_from_db()
    assert not result.ok
    assert bot.status == Bot.Status.PAUSED and "lacks the view and trade permissions" in bot.paused_reason


def test_account_without_funds_for_the_pair_is_refused(live_bot, live_market, cb_exchange, fake_coinbase, settings):
    settings.TRADING_MODE = "live"
    fake_coinbase.state.available["USD"] = Decimal("0")
    broke = live_bot(product_id="ETH-USD")
    [result] = preflight(live_market, cb_exchange)
    assert "no USD to buy with and no ETH to sell" in result.message
    broke.refresh_from_db()
    assert broke.status == Bot.Status.PAUSED and broke.pause_code == "live_preflight"
    assert not Order.objects.exists()


def test_pair_not_accepting_market_orders_is_refused(
    live_bot, live_market, cb_market, cb_exchange, fake_coinbase, settings
):
    from django.core.cache import cache

    from market.cache import CachedMarketData

    settings.TRADING_MODE = "live"
    bot = live_bot(product_id="SOL-USD")
    fake_coinbase.state.product_overrides["SOL-USD"] = {"trading_disabled": True}
    cache.clear()
    [result] = preflight(CachedMarketData(cb_market), cb_exchange)
    assert "does not accept market orders" in result.message
    bot.refresh_from_db()
    assert bot.status == Bot.Status.PAUSED


def test_live_switch_without_live_mode_trades_on_paper(live_bot, live_market, cb_exchange, settings):
    settings.TRADING_MODE = "paper"
    live_bot()
    [result] = preflight(live_market, cb_exchange)
    assert result.ok and "TRADING_MODE=paper: it trades on paper" in result.message


def test_unreachable_exchange_pauses_live_bots(live_bot, live_market, coinbase_settings, fake_coinbase, settings):
    settings.TRADING_MODE = "live"
    bot = live_bot()
    exchange = CoinbaseExchange.from_settings()
    exchange.rest.retry_base_seconds = 0.01
    fake_coinbase.faults.add("GET /key_permissions", "status", 503, times=10)
    [result] = preflight(live_market, exchange)
    bot.refresh_from_db()
    assert not result.ok and bot.status == Bot.Status.PAUSED
    assert bot.paused_reason.startswith("live start-up check failed")
