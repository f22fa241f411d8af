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
from django.utils import timezone

from bots.models import Bot
from bots.services import activity_record, bot_pause
from market.exchange import Exchange, ExchangeError, MarketData, TemporaryError
from market.types import UnknownProduct

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


def _account_problem(exchange: Exchange, *, wait_out_outages: bool = False) -> tuple[str | None, dict]:
    """Whether the key may view and trade, with the account's balances when it may.

    With ``wait_out_outages`` an exchange that does not answer now raises
    ``TemporaryError`` instead of failing the check.
    """
    try:
        permissions = exchange.key_permissions()
        balances = exchange.balances()
    except ExchangeError as exc:
        if wait_out_outages and isinstance(exc, TemporaryError):
            raise
        return f"live start-up check failed: {exc}", {}
    if not (permissions.can_view and permissions.can_trade):
        return "the Coinbase API key lacks the view and trade permissions live trading needs", {}
    return None, balances


def _settle(bot: Bot, problem: str | None, now: datetime) -> PreflightResult:
    """Pause a bot that cannot trade live, or record that it passed (until its next start)."""
    if problem:
        bot_pause(bot=bot, reason=problem, at=now, code=PREFLIGHT)
        return PreflightResult(bot, False, problem)
    Bot.objects.filter(pk=bot.pk).update(live_checked_at=timezone.now())
    message = f"{bot.name} trades LIVE on {bot.product_id}"
    activity_record(kind="system", level="warning", bot=bot, at=now, message=message)
    return PreflightResult(bot, True, message)


def _bot_problem(exchange: Exchange, market: MarketData, bot: Bot, account: tuple[str | None, dict]) -> str | None:
    problem, balances = account
    if problem:
        return problem
    found = _problem(exchange, market, bot, balances)
    return f"cannot trade live: {found}" if found else None


def live_preflight(
    *, exchange_for: Callable[[Bot], Exchange], market: MarketData, now: datetime
) -> list[PreflightResult]:
    """Check every running bot that asks for live trading; pause those that cannot trade."""
    live_bots = list(Bot.objects.filter(live=True, status=Bot.Status.RUNNING))
    if not live_bots:
        return []
    if settings.TRADING_MODE != "live":
        results = []
        for bot in live_bots:
            message = f"{bot.name} is switched to live, but TRADING_MODE={settings.TRADING_MODE}: it trades on paper"
            activity_record(kind="system", level="warning", bot=bot, at=now, message=message)
            results.append(PreflightResult(bot, True, message))
        return results
    exchange = exchange_for(live_bots[0])
    account = _account_problem(exchange)
    return [_settle(bot, _bot_problem(exchange, market, bot, account), now) for bot in live_bots]


def live_check(*, bot: Bot, exchange: Exchange, market: MarketData, now: datetime) -> PreflightResult:
    """The start-up checks for one live bot, run before its first real order after every start.

    An exchange that does not answer now (``TemporaryError``) is not a failed
    check: it is raised, so the tick is skipped and the check runs again next tick.
    """
    account = _account_problem(exchange, wait_out_outages=True)
    return _settle(bot, _bot_problem(exchange, market, bot, account), now)
