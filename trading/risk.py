"""The risk gate: turn an evaluation into an order intent or a reasoned skip.

Pure, like the evaluator. The rules themselves (their order, the sizing
arithmetic, the tranche step, cooldown, trades per day, the daily loss limit)
live in ``trading.rules``, written once: ``decide`` calls them on Decimal
values and the backtester's compiled loop calls them on fixed-point integers.
This module turns their verdict into an ``OrderIntent`` or a ``Skip`` whose
reason the activity feed shows.

Sizing rule (documented in docs/how-a-bot-decides.md): a buy spends between half and all of
``position_size_usd``, linear in how far the score is past the buy threshold
(half at the threshold, all of it at +1), capped by the room left under
``max_position_usd`` at the current price and by the free quote balance.
A further buy (a new tranche) needs the price to be ``trade_step_pct`` below
the last buy. A sell exits the whole position (all tranches) at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal, localcontext

from bots.evaluator import ACTION_CODES, Action, Evaluation
from market.types import Product, Side
from trading import rules

HUNDRED = Decimal(100)


class SkipCode(enum.StrEnum):
    KILL_SWITCH = "kill_switch"
    DAILY_LOSS = "daily_loss_limit"
    NO_FUNDS = "no_funds"
    UNCONFIRMED = "unconfirmed"
    HOLD = "hold"
    MAX_TRADES = "max_trades_per_day"
    COOLDOWN = "cooldown"
    TRANCHE_STEP = "tranche_step"
    MAX_POSITION = "max_position"
    BELOW_MINIMUM = "below_minimum"
    NOTHING_TO_SELL = "nothing_to_sell"
    PRODUCT_DISABLED = "product_disabled"
    ORDER_IN_FLIGHT = "order_in_flight"


@dataclass(frozen=True)
class PositionView:
    """The bot's holding as seen by the risk gate, marked at ``mark_price``."""

    base_size: Decimal
    mark_price: Decimal
    last_buy_price: Decimal | None = None

    @property
    def value(self) -> Decimal:
        return self.base_size * self.mark_price


@dataclass(frozen=True)
class Balances:
    quote_available: Decimal
    base_available: Decimal


@dataclass(frozen=True)
class Limits:
    """The bot's risk settings, today's counters and the global switch."""

    product: Product
    position_size_usd: Decimal
    max_position_usd: Decimal
    trade_step_pct: Decimal
    cooldown: timedelta
    max_trades_per_day: int
    daily_loss_limit_usd: Decimal
    buy_threshold: float
    trades_today: int = 0
    realised_pnl_today: Decimal = Decimal("0")
    last_trade_at: datetime | None = None
    kill_switch: bool = False


@dataclass(frozen=True)
class OrderIntent:
    side: Side
    quote_size: Decimal | None
    base_size: Decimal | None
    reason: str


@dataclass(frozen=True)
class Skip:
    code: SkipCode
    reason: str
    pause: bool = False


SKIPS = {
    rules.KILL_SWITCH: SkipCode.KILL_SWITCH,
    rules.DAILY_LOSS: SkipCode.DAILY_LOSS,
    rules.NO_FUNDS: SkipCode.NO_FUNDS,
    rules.UNCONFIRMED: SkipCode.UNCONFIRMED,
    rules.SKIP_HOLD: SkipCode.HOLD,
    rules.MAX_TRADES: SkipCode.MAX_TRADES,
    rules.COOLDOWN: SkipCode.COOLDOWN,
    rules.TRANCHE_STEP: SkipCode.TRANCHE_STEP,
    rules.MAX_POSITION: SkipCode.MAX_POSITION,
    rules.BELOW_MINIMUM: SkipCode.BELOW_MINIMUM,
    rules.NOTHING_TO_SELL: SkipCode.NOTHING_TO_SELL,
    rules.PRODUCT_DISABLED: SkipCode.PRODUCT_DISABLED,
}
# Wide enough that every product of a size and a price in the rules is exact.
_EXACT = Context(prec=60)


def precheck(position: PositionView, balances: Balances, limits: Limits) -> Skip | None:
    """Before any signal math: is there anything this bot could do at all?"""
    product = limits.product
    code = rules.precheck_code(
        limits.kill_switch,
        balances.quote_available,
        product.quote_min_size,
        position.base_size,
        balances.base_available,
        product.base_min_size,
    )
    if code == rules.KILL_SWITCH:
        return Skip(SkipCode.KILL_SWITCH, "kill switch is on: no new orders")
    if code == rules.NO_FUNDS:
        return Skip(
            SkipCode.NO_FUNDS,
            f"cannot buy ({balances.quote_available} {product.quote_currency} free, minimum "
            f"{product.quote_min_size}) and nothing to sell; signals not computed",
        )
    return None


def decide(
    evaluation: Evaluation, position: PositionView, balances: Balances, limits: Limits, now: datetime
) -> OrderIntent | Skip:
    """Apply the risk rules (``trading.rules.decide_order``) in their fixed order; the first that refuses wins."""
    product = limits.product
    c = evaluation.confirmation
    step = limits.trade_step_pct
    with localcontext(_EXACT):
        code, quote_size, base_size = rules.decide_order(
            ACTION_CODES[evaluation.action],
            c.confirmed,
            limits.kill_switch,
            product.market_orders_allowed,
            limits.daily_loss_limit_usd,
            limits.realised_pnl_today,
            limits.max_trades_per_day,
            limits.trades_today,
            limits.last_trade_at is not None,
            rules.micros(now) - rules.micros(limits.last_trade_at),
            rules.micros_of(limits.cooldown),
            rules.buy_fraction_nano(evaluation.score, limits.buy_threshold),
            limits.position_size_usd,
            limits.max_position_usd,
            balances.quote_available,
            position.base_size,
            balances.base_available,
            position.mark_price,
            position.last_buy_price is not None,
            position.last_buy_price or Decimal(0),
            step,
            HUNDRED,
            product.quote_increment,
            product.quote_min_size,
            product.base_increment,
            product.base_min_size,
        )
    if code == rules.ORDER:
        if evaluation.action is Action.BUY:
            size = quote_size.quantize(product.quote_increment)
            reason = f"buy {size} {product.quote_currency} at score {evaluation.score:+.3f}"
            return OrderIntent(Side.BUY, size, None, reason)
        size = base_size.quantize(product.base_increment)
        return OrderIntent(Side.SELL, None, size, f"sell {size} {product.base_currency} (whole position)")
    return _skip(SKIPS[code], evaluation, position, balances, limits, now, quote_size)


def _skip(
    code: SkipCode,
    evaluation: Evaluation,
    position: PositionView,
    balances: Balances,
    limits: Limits,
    now: datetime,
    quote_size: Decimal,
) -> Skip:
    """The refusal with its reason, worded for the activity feed."""
    product, c = limits.product, evaluation.confirmation
    if code is SkipCode.KILL_SWITCH:
        return Skip(code, "kill switch is on: no new orders")
    if code is SkipCode.DAILY_LOSS:
        return Skip(
            code,
            f"daily loss limit reached: realised {limits.realised_pnl_today} today, limit "
            f"-{limits.daily_loss_limit_usd}",
            pause=True,
        )
    if code is SkipCode.HOLD:
        return Skip(code, f"hold: score {evaluation.score:+.3f} is between the thresholds")
    if code is SkipCode.UNCONFIRMED:
        return Skip(code, f"waiting for confirmation: {c.action.value} held {_fmt(c.elapsed)} of {_fmt(c.required)}")
    if code is SkipCode.PRODUCT_DISABLED:
        return Skip(code, f"{product.product_id} does not accept market orders now")
    if code is SkipCode.MAX_TRADES:
        return Skip(code, f"{limits.trades_today} trades today, the daily maximum")
    if code is SkipCode.COOLDOWN:
        left = limits.cooldown - (now - limits.last_trade_at)
        return Skip(code, f"cooling down after the last trade: {_fmt(left)} left")
    if code is SkipCode.TRANCHE_STEP:
        ceiling = position.last_buy_price * (Decimal(1) - limits.trade_step_pct / HUNDRED)
        return Skip(
            code,
            f"next tranche needs the price at or below {product.round_price(ceiling)} "
            f"({limits.trade_step_pct}% under the last buy at {position.last_buy_price}); "
            f"now {position.mark_price}",
        )
    if code is SkipCode.MAX_POSITION:
        return Skip(
            code,
            f"position worth {position.value.quantize(Decimal('0.01'))} is at the maximum {limits.max_position_usd}",
        )
    if code is SkipCode.NOTHING_TO_SELL:
        return Skip(code, "sell signal but no position to sell")
    if evaluation.action is Action.BUY:
        return Skip(code, f"buy of {quote_size} {product.quote_currency} is below the minimum {product.quote_min_size}")
    held = min(position.base_size, balances.base_available)
    return Skip(code, f"position of {held} {product.base_currency} is below the minimum order")


def _fmt(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s"
