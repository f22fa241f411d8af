"""The risk gate: turn an evaluation into an order intent or a reasoned skip.

Pure, like the evaluator: live, paper and backtest runs call ``decide`` with
plain values. Every refusal is a ``Skip`` whose reason the activity feed shows.

Sizing rule (documented in the README): a buy spends between half and all of
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
from decimal import ROUND_DOWN, Decimal

from bots.evaluator import Action, Evaluation
from market.types import Product, Side

HALF = Decimal("0.5")


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


def precheck(position: PositionView, balances: Balances, limits: Limits) -> Skip | None:
    """Before any signal math: is there anything this bot could do at all?"""
    if limits.kill_switch:
        return Skip(SkipCode.KILL_SWITCH, "kill switch is on: no new orders")
    can_buy = balances.quote_available >= limits.product.quote_min_size
    can_sell = min(position.base_size, balances.base_available) >= limits.product.base_min_size
    if not can_buy and not can_sell:
        return Skip(
            SkipCode.NO_FUNDS,
            f"cannot buy ({balances.quote_available} {limits.product.quote_currency} free, minimum "
            f"{limits.product.quote_min_size}) and nothing to sell; signals not computed",
        )
    return None


def buy_budget(score: float, limits: Limits) -> Decimal:
    """Half of position_size_usd at the buy threshold, all of it at +1."""
    threshold = Decimal(str(limits.buy_threshold))
    excess = (Decimal(str(score)) - threshold) / (Decimal(1) - threshold) if threshold < 1 else Decimal(1)
    excess = min(max(excess, Decimal(0)), Decimal(1))
    return limits.position_size_usd * (HALF + HALF * excess)


def decide(
    evaluation: Evaluation, position: PositionView, balances: Balances, limits: Limits, now: datetime
) -> OrderIntent | Skip:
    """Apply the risk rules in a fixed order; the first that refuses wins."""
    product = limits.product
    if limits.kill_switch:
        return Skip(SkipCode.KILL_SWITCH, "kill switch is on: no new orders")
    if limits.daily_loss_limit_usd > 0 and limits.realised_pnl_today <= -limits.daily_loss_limit_usd:
        return Skip(
            SkipCode.DAILY_LOSS,
            f"daily loss limit reached: realised {limits.realised_pnl_today} today, limit "
            f"-{limits.daily_loss_limit_usd}",
            pause=True,
        )
    if evaluation.action is Action.HOLD:
        return Skip(SkipCode.HOLD, f"hold: score {evaluation.score:+.3f} is between the thresholds")
    c = evaluation.confirmation
    if not c.confirmed:
        return Skip(
            SkipCode.UNCONFIRMED,
            f"waiting for confirmation: {c.action.value} held {_fmt(c.elapsed)} of {_fmt(c.required)}",
        )
    if not product.market_orders_allowed:
        return Skip(SkipCode.PRODUCT_DISABLED, f"{product.product_id} does not accept market orders now")
    if limits.max_trades_per_day and limits.trades_today >= limits.max_trades_per_day:
        return Skip(SkipCode.MAX_TRADES, f"{limits.trades_today} trades today, the daily maximum")
    if limits.last_trade_at is not None and now - limits.last_trade_at < limits.cooldown:
        left = limits.cooldown - (now - limits.last_trade_at)
        return Skip(SkipCode.COOLDOWN, f"cooling down after the last trade: {_fmt(left)} left")
    if evaluation.action is Action.BUY:
        return _decide_buy(evaluation, position, balances, limits)
    return _decide_sell(position, balances, limits)


def _decide_buy(
    evaluation: Evaluation, position: PositionView, balances: Balances, limits: Limits
) -> OrderIntent | Skip:
    product = limits.product
    if position.base_size > 0 and position.last_buy_price is not None:
        step = limits.trade_step_pct / Decimal(100)
        ceiling = position.last_buy_price * (Decimal(1) - step)
        if position.mark_price > ceiling:
            return Skip(
                SkipCode.TRANCHE_STEP,
                f"next tranche needs the price at or below {product.round_price(ceiling)} "
                f"({limits.trade_step_pct}% under the last buy at {position.last_buy_price}); "
                f"now {position.mark_price}",
            )
    room = limits.max_position_usd - position.value
    if room < product.quote_min_size:
        return Skip(
            SkipCode.MAX_POSITION,
            f"position worth {position.value.quantize(Decimal('0.01'))} is at the maximum {limits.max_position_usd}",
        )
    budget = min(buy_budget(evaluation.score, limits), room, balances.quote_available)
    size = budget.quantize(product.quote_increment, rounding=ROUND_DOWN)
    if size < product.quote_min_size:
        return Skip(
            SkipCode.BELOW_MINIMUM,
            f"buy of {size} {product.quote_currency} is below the minimum {product.quote_min_size}",
        )
    return OrderIntent(Side.BUY, size, None, f"buy {size} {product.quote_currency} at score {evaluation.score:+.3f}")


def _decide_sell(position: PositionView, balances: Balances, limits: Limits) -> OrderIntent | Skip:
    product = limits.product
    held = min(position.base_size, balances.base_available)
    if held <= 0:
        return Skip(SkipCode.NOTHING_TO_SELL, "sell signal but no position to sell")
    size = product.round_base(held)
    if size < product.base_min_size or size * position.mark_price < product.quote_min_size:
        return Skip(SkipCode.BELOW_MINIMUM, f"position of {held} {product.base_currency} is below the minimum order")
    return OrderIntent(Side.SELL, None, size, f"sell {size} {product.base_currency} (whole position)")


def _fmt(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s"
