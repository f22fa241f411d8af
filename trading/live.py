"""Going live is deliberate: the start-up checks before a live bot may trade.

A real order needs TRADING_MODE=live, valid credentials and the bot's own
``live`` switch. At start-up the runner checks the key's permissions and the
account, and pauses (with the reason) every live bot that could not trade;
a bot switched to live while TRADING_MODE=paper is told it trades on paper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from bots.models import Bot
from bots.services import bot_pause
from market.exchange import Exchange, ExchangeError, MarketData
from market.types import UnknownProduct
from trading.services import activity_record

log = logging.getLogger(__name__)
PREFLIGHT = "live_preflight"


@dataclass(frozen=True)
class PreflightResult:
    bot: Bot
    ok: bool
    message: str


def _problem(exchange: Exchange, market: MarketData, bot: Bot, balances) -> str | None:
    try:
        product = market.product(bot.product_id)
    except UnknownProduct:
        return f"Coinbase does not list {bot.product_id}"
    if not product.market_orders_allowed:
        return f"{bot.product_id} does not accept market orders now (disabled, cancel-only, limit-only or post-only)"
    if product.base_currency not in balances and product.quote_currency not in balances:
        return (
            f"the account has no {product.quote_currency} or {product.base_currency} wallet, "
            f"so it cannot trade {bot.product_id}"
        )
    quote = balances.get(product.quote_currency)
    base = balances.get(product.base_currency)
    if (quote is None or quote.available < product.quote_min_size) and (base is None or base.available <= 0):
        return f"no {product.quote_currency} to buy with and no {product.base_currency} to sell"
    return None


def live_preflight(
    *, exchange_for: Callable[[Bot], Exchange], market: MarketData, now: datetime
) -> list[PreflightResult]:
    """Check every running bot that asks for live trading; pause those that cannot trade."""
    results: list[PreflightResult] = []
    live_bots = list(Bot.objects.filter(live=True, status=Bot.Status.RUNNING))
    if not live_bots:
        return results
    if settings.TRADING_MODE != "live":
        for bot in live_bots:
            message = f"{bot.name} is switched to live, but TRADING_MODE={settings.TRADING_MODE}: it trades on paper"
            activity_record(kind="system", level="warning", bot=bot, at=now, message=message)
            results.append(PreflightResult(bot, True, message))
        return results
    try:
        exchange = exchange_for(live_bots[0])
        permissions = exchange.key_permissions()
        balances = exchange.balances()
    except ExchangeError as exc:
        reason = f"live start-up check failed: {exc}"
        for bot in live_bots:
            bot_pause(bot=bot, reason=reason, at=now, code=PREFLIGHT)
            results.append(PreflightResult(bot, False, reason))
        return results
    if not (permissions.can_view and permissions.can_trade):
        reason = "the Coinbase API key lacks the view and trade permissions live trading needs"
        for bot in live_bots:
            bot_pause(bot=bot, reason=reason, at=now, code=PREFLIGHT)
            results.append(PreflightResult(bot, False, reason))
        return results
    for bot in live_bots:
        problem = _problem(exchange, market, bot, balances)
        if problem:
            bot_pause(bot=bot, reason=f"cannot trade live: {problem}", at=now, code=PREFLIGHT)
            results.append(PreflightResult(bot, False, problem))
        else:
            message = f"{bot.name} trades LIVE on {bot.product_id}"
            activity_record(kind="system", level="warning", bot=bot, at=now, message=message)
            results.append(PreflightResult(bot, True, message))
    return results
