"""The execution engine: one bot, one tick.

Loads the bot's state, asks the pure core (``precheck``, ``evaluate``,
``decide``) what to do, persists the evaluation and places at most one order.
A lease on the bot row (a conditional update) makes sure one evaluation per
bot runs at a time, across processes and hosts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bots.evaluator import Evaluation
from bots.models import ActivityEvent, Bot
from bots.services import activity_record, bot_evaluate, bot_evaluation_save, bot_pause
from market.exchange import Exchange, MarketData, TemporaryError
from market.types import UNRESOLVED_ORDER_STATUSES, Product
from trading.live import live_check
from trading.models import Order, Position, Tranche
from trading.risk import Balances, Limits, OrderIntent, PositionView, Skip, SkipCode, decide, precheck
from trading.services import OrderRefused, bots_daily_counters, kill_switch_engaged, order_submit

log = logging.getLogger(__name__)
Kind = ActivityEvent.Kind
# A skip code outside the risk gate's (like the pause codes "order_failures" and
# "live_preflight"): the exchange did not answer, so the bot could not decide.
EXCHANGE_UNAVAILABLE = "exchange_unavailable"
MODE_MISMATCH = "mode_mismatch"


@dataclass
class TickContext:
    """What a tick reads once for all its bots instead of once per bot.

    Positions, daily counters and in-flight orders of a bot change only in that
    bot's own evaluation, which runs once per tick; the kill switch is re-read
    when an order row is written. Balances are shared by bots (one wallet), so
    they are re-read after any order of the tick.
    """

    kill_switch: bool
    positions: dict[int, Position]
    counters: dict[int, tuple[int, Decimal, datetime | None]]
    in_flight: dict[int, Order]
    # The modes (paper, live) of the orders whose fills are still held, per bot.
    holding_modes: dict[int, set[str]] = field(default_factory=dict)
    _balances: dict[int, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, *, bot_ids: list[int], now: datetime) -> TickContext:
        in_flight: dict[int, Order] = {}
        for order in Order.objects.filter(bot_id__in=bot_ids, status__in=UNRESOLVED_ORDER_STATUSES).order_by(
            "-created_at"
        ):
            in_flight[order.bot_id] = order  # the oldest wins: ordered newest first
        holding_modes: dict[int, set[str]] = {}
        held = Tranche.objects.filter(position__bot_id__in=bot_ids).values_list(
            "position__bot_id", "trade__order__mode"
        )
        for bot_id, mode in held.distinct():
            holding_modes.setdefault(bot_id, set()).add(mode)
        return cls(
            holding_modes=holding_modes,
            kill_switch=kill_switch_engaged(),
            positions={p.bot_id: p for p in Position.objects.filter(bot_id__in=bot_ids)},
            counters=bots_daily_counters(bot_ids=bot_ids, now=now),
            in_flight=in_flight,
        )

    def balances(self, exchange: Exchange) -> dict:
        key = id(exchange)
        if key not in self._balances:
            self._balances[key] = exchange.balances()
        return self._balances[key]

    def spent(self) -> None:
        """An order moved money: the next bot reads the wallet again."""
        self._balances.clear()


@dataclass(frozen=True)
class TickResult:
    bot_id: int
    outcome: str  # busy | skipped | evaluated | ordered | error
    detail: str = ""


def bot_claim(bot_id: int, owner: str) -> bool:
    """Take the bot's evaluation lease if nobody holds a live one.

    Wall-clock time (not market time): the lease is about processes.
    """
    now = timezone.now()
    until = now + timedelta(seconds=settings.RUNNER_LEASE_SECONDS)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    return Bot.objects.filter(free, pk=bot_id).update(lease_owner=owner, lease_until=until) == 1


def bot_release(bot_id: int, owner: str) -> None:
    Bot.objects.filter(pk=bot_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def bot_tick(
    bot_id: int,
    *,
    market: MarketData,
    exchange_for: Callable[[Bot], Exchange],
    now: datetime,
    owner: str,
    context: TickContext | None = None,
) -> TickResult:
    """Evaluate one running bot at market time ``now`` and act on the result.

    ``context`` carries what the runner read once for the whole tick; without
    it (a task, a test) the bot's own rows are read here.
    """
    if not bot_claim(bot_id, owner):
        return TickResult(bot_id, "busy", "another evaluation holds the lease")
    try:
        bot = Bot.objects.get(pk=bot_id)
        if bot.status != Bot.Status.RUNNING:
            return TickResult(bot_id, "skipped", f"bot is {bot.status}")
        context = context or TickContext.load(bot_ids=[bot.pk], now=now)
        return _tick(bot, market, exchange_for(bot), now, context)
    except TemporaryError as exc:
        # An outage is not an evaluation failure: skip with the reason (one feed
        # event per outage, not one error per tick) and decide again next tick.
        log.warning("bot %s skipped: the exchange is not answering: %s", bot_id, exc)
        reason = f"exchange unavailable, trading resumes when it answers: {exc}"
        bot = Bot.objects.filter(pk=bot_id).first()
        if bot is not None:
            _note_skip(bot, EXCHANGE_UNAVAILABLE, reason, now, level=ActivityEvent.Level.WARNING)
        return TickResult(bot_id, "skipped", reason)
    except Exception as exc:
        log.exception("tick of bot %s failed", bot_id)
        bot = Bot.objects.filter(pk=bot_id).first()
        activity_record(
            kind=Kind.ERROR,
            level=ActivityEvent.Level.ERROR,
            bot=bot,
            at=now,
            message=f"{bot.name if bot else bot_id}: evaluation failed: {type(exc).__name__}: {exc}",
        )
        return TickResult(bot_id, "error", str(exc))
    finally:
        bot_release(bot_id, owner)


def bot_limits(bot: Bot, product: Product, now: datetime, context: TickContext | None = None) -> Limits:
    config = bot.config
    context = context or TickContext.load(bot_ids=[bot.pk], now=now)
    trades_today, realised_today, last_trade = context.counters[bot.pk]
    return Limits(
        product=product,
        position_size_usd=config.position_size_usd,
        max_position_usd=config.max_position_usd,
        trade_step_pct=config.trade_step_pct,
        cooldown=timedelta(minutes=config.cooldown_minutes),
        max_trades_per_day=config.max_trades_per_day,
        daily_loss_limit_usd=config.daily_loss_limit_usd,
        buy_threshold=config.buy_threshold,
        trades_today=trades_today,
        realised_pnl_today=realised_today,
        last_trade_at=last_trade,
        kill_switch=context.kill_switch,
    )


def _tick(bot: Bot, market: MarketData, exchange: Exchange, now: datetime, context: TickContext) -> TickResult:
    product = market.product(bot.product_id)
    ticker = market.ticker(bot.product_id)
    if ticker.stale:
        # Served from the cache while the source backs off: never decide on prices that may be minutes old.
        raise TemporaryError(f"{market.name} prices for {bot.product_id} are stale (market data is backing off)")
    if exchange.capabilities.live_money and bot.live_checked_at is None:
        # Every start of a live bot (and every switch to live) is checked before a real order.
        checked = live_check(bot=bot, exchange=exchange, market=market, now=now)
        if not checked.ok:
            return TickResult(bot.pk, "skipped", checked.message)
    mode = Order.Mode.LIVE if exchange.capabilities.live_money else Order.Mode.PAPER
    foreign = context.holding_modes.get(bot.pk, set()) - {mode}
    if foreign:
        # Bought on paper and now trading live (or the reverse, after a restart with another
        # TRADING_MODE): a sell would sell coins the bot never bought there.
        reason = (
            f"holds a position bought on {'/'.join(sorted(foreign))} but its orders now go to {mode}: "
            f"sell it where it was bought (switch back), or close it by hand"
        )
        _note_skip(bot, MODE_MISMATCH, reason, now, level=ActivityEvent.Level.WARNING)
        bot_pause(bot=bot, reason=reason, at=now, code=MODE_MISMATCH)
        return TickResult(bot.pk, "skipped", reason)
    wallet = context.balances(exchange)
    zero = Decimal("0")
    balances = Balances(
        quote_available=wallet[product.quote_currency].available if product.quote_currency in wallet else zero,
        base_available=wallet[product.base_currency].available if product.base_currency in wallet else zero,
    )
    position = context.positions.get(bot.pk)
    view = PositionView(
        base_size=position.base_size if position else zero,
        mark_price=ticker.price,
        last_buy_price=position.last_buy_price if position else None,
    )
    limits = bot_limits(bot, product, now, context)
    early = precheck(view, balances, limits)
    if early is not None:
        Bot.objects.filter(pk=bot.pk).update(last_price=ticker.price)
        _record_skip(bot, early, now)
        return TickResult(bot.pk, "skipped", early.reason)

    evaluation = bot_evaluate(bot, market, now)
    bot_evaluation_save(bot, evaluation, ticker.price)
    pending = context.in_flight.get(bot.pk)
    if pending is not None:
        # Until the last order's outcome is known, a new one could double the exposure.
        decision = Skip(
            SkipCode.ORDER_IN_FLIGHT,
            f"waiting for order {pending.client_order_id} ({pending.status}) to resolve before trading again",
        )
    else:
        decision = decide(evaluation, view, balances, limits, now)
    if isinstance(decision, Skip):
        _record_skip(bot, decision, now)
        if decision.pause:
            bot_pause(bot=bot, reason=decision.reason, at=now, code=decision.code.value)
        return TickResult(bot.pk, "skipped", decision.reason)
    context.spent()
    return _execute(bot, decision, product, exchange, evaluation, now)


def _execute(
    bot: Bot, intent: OrderIntent, product: Product, exchange: Exchange, evaluation: Evaluation, now: datetime
) -> TickResult:
    activity_record(
        kind=Kind.DECISION,
        bot=bot,
        at=now,
        message=f"{bot.name}: {intent.side.value.lower()} decided at score {evaluation.score:+.3f} "
        f"({evaluation.temperature.value})",
        data={"score": evaluation.score, "side": intent.side.value},
    )
    Bot.objects.filter(pk=bot.pk).update(last_skip_code="", last_skip_reason="")
    try:
        order = order_submit(
            bot=bot,
            intent=intent,
            product=product,
            exchange=exchange,
            decision_key=f"{bot.pk}:{now.isoformat()}",
            now=now,
            score=evaluation.score,
        )
    except OrderRefused as refused:
        # Something changed between the decision and the order row (the kill switch, the bot, another order).
        _note_skip(bot, refused.code, refused.reason, now)
        return TickResult(bot.pk, "skipped", refused.reason)
    return TickResult(bot.pk, "ordered", f"{order.side} {order.status}")


def _record_skip(bot: Bot, skip: Skip, now: datetime) -> None:
    _note_skip(bot, skip.code.value, skip.reason, now)


def _note_skip(bot: Bot, code: str, reason: str, now: datetime, *, level: str = ActivityEvent.Level.INFO) -> None:
    """Store the latest skip on the bot; the feed gets one event per change of reason."""
    if bot.last_skip_code != code:
        activity_record(
            kind=Kind.SKIP, level=level, bot=bot, at=now, message=f"{bot.name}: {reason}", data={"code": code}
        )
    if (bot.last_skip_code, bot.last_skip_reason) != (code, reason[:500]):
        Bot.objects.filter(pk=bot.pk).update(last_skip_code=code, last_skip_reason=reason[:500])
