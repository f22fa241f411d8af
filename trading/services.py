"""Writes of the trading app: the kill switch, orders and positions.

Order placement follows DESIGN.md's rules: the Order row and its
client_order_id are committed before the exchange is called; an unknown
outcome is resolved by looking the order up by that id, never by placing it
again; a rejection is recorded with the exchange's reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from bots.models import ActivityEvent, Bot
from bots.services import activity_record, bot_pause
from market.exchange import Exchange, ExchangeError, OrderRejected
from market.types import UNRESOLVED_ORDER_STATUSES, ExchangeOrder, OrderStatus, Product, Side
from trading.accounting import FillRecord, PositionState, apply_fill
from trading.models import KillSwitch, Order, Position, Trade, Tranche
from trading.risk import OrderIntent

log = logging.getLogger(__name__)

Kind = ActivityEvent.Kind
Level = ActivityEvent.Level
# An order the exchange has never heard of this long after it was written
# never reached it (the process died between the commit and the call).
UNKNOWN_ORDER_GIVE_UP = timedelta(minutes=5)


# --- kill switch -----------------------------------------------------------
def kill_switch_get() -> KillSwitch:
    switch, _ = KillSwitch.objects.get_or_create(pk=1)
    return switch


def kill_switch_engaged() -> bool:
    return KillSwitch.objects.filter(pk=1, engaged=True).exists()


def kill_switch_set(*, engaged: bool, reason: str = "", by: str = "", at: datetime) -> KillSwitch:
    """Engage or release the global stop; both are recorded in the feed."""
    with transaction.atomic():
        switch, _ = KillSwitch.objects.select_for_update().get_or_create(pk=1)
        switch.engaged = engaged
        switch.reason = reason[:500]
        switch.changed_by = by[:150]
        switch.changed_at = at
        switch.save()
    word = "ENGAGED" if engaged else "released"
    activity_record(
        kind=Kind.BREAKER,
        level=Level.ERROR if engaged else Level.WARNING,
        message=f"kill switch {word}" + (f" by {by}" if by else "") + (f": {reason}" if reason else ""),
        at=at,
    )
    return switch


# --- positions -------------------------------------------------------------
def _fill_record(trade: Trade, quote_currency: str) -> FillRecord:
    return FillRecord(
        trade_id=trade.trade_id,
        side=Side(trade.side),
        price=trade.price,
        size=trade.size,
        fee=trade.fee,
        fee_currency=trade.fee_currency,
        time=trade.executed_at,
        quote_currency=quote_currency,
    )


@transaction.atomic
def position_rebuild(*, bot: Bot, quote_currency: str = "USD") -> Position:
    """Recompute the bot's Position, Tranches and per-trade P&L from its trades.

    The bot's row is locked before the trades are read: two orders of one bot
    applied at once would otherwise each miss the other's fill.
    """
    list(Bot.objects.select_for_update().filter(pk=bot.pk).values_list("pk"))
    state = PositionState()
    trades = list(Trade.objects.filter(bot=bot).order_by("executed_at", "id"))
    for trade in trades:
        state, realised = apply_fill(state, _fill_record(trade, quote_currency))
        if trade.realised_pnl != realised:
            trade.realised_pnl = realised
            trade.save(update_fields=["realised_pnl"])
    position, _ = Position.objects.select_for_update().get_or_create(bot=bot, defaults={"product_id": bot.product_id})
    position.product_id = bot.product_id
    position.base_size = state.base_size
    position.cost_basis = state.cost_basis
    position.average_entry = state.average_entry
    position.last_buy_price = state.last_buy_price
    position.realised_pnl = state.realised_pnl
    position.fees_paid = state.fees_paid
    position.opened_at = state.opened_at
    position.save()
    by_trade = {t.trade_id: t for t in trades}
    position.tranches.all().delete()
    Tranche.objects.bulk_create(
        Tranche(
            position=position,
            trade=by_trade[lot.trade_id],
            entry_price=lot.entry_price,
            size=lot.size,
            cost=lot.cost,
            opened_at=lot.opened_at,
        )
        for lot in state.lots
    )
    return position


# --- orders ----------------------------------------------------------------
def order_submit(
    *,
    bot: Bot,
    intent: OrderIntent,
    product: Product,
    exchange: Exchange,
    decision_key: str,
    now: datetime,
    score: float | None = None,
) -> Order:
    """Place one order for one decision, exactly once.

    The row is written under a lock on the bot's row, after checking again what
    the decision was made on: the kill switch, that the bot still runs (and is
    still live, for a live order), and that no other order of the bot is
    unresolved or came from a later decision (a task of an earlier tick that
    reaches the bot late decided on rows read before that order).
    """
    mode = Order.Mode.LIVE if exchange.capabilities.live_money else Order.Mode.PAPER
    try:
        with transaction.atomic():
            existing = Order.objects.filter(decision_key=decision_key).first()
            if existing is not None:
                return existing  # this decision already has its order (a duplicate task delivery)
            if kill_switch_engaged():
                raise OrderRefused("kill switch is on: no new orders", code="kill_switch")
            row = Bot.objects.select_for_update().filter(pk=bot.pk).values("status", "live").first()
            if row is None or row["status"] != Bot.Status.RUNNING:
                raise OrderRefused(f"{bot.name} is no longer running: no new orders", code="not_running")
            if mode == Order.Mode.LIVE and not row["live"]:
                raise OrderRefused(f"{bot.name} was switched to paper: no live order", code="not_running")
            other = (
                Order.objects.filter(bot_id=bot.pk)
                .filter(Q(status__in=UNRESOLVED_ORDER_STATUSES) | Q(created_at__gte=now))
                .order_by("-created_at")
                .first()
            )
            if other is not None:
                raise OrderRefused(
                    f"order {other.client_order_id} ({other.status}) came first: this decision was made "
                    "on rows read before it",
                    code="order_in_flight",
                )
            order = Order.objects.create(
                bot=bot,
                client_order_id=f"at-{uuid.uuid4().hex}",
                decision_key=decision_key,
                mode=mode,
                product_id=product.product_id,
                side=intent.side.value,
                quote_size=intent.quote_size,
                base_size=intent.base_size,
                reason=intent.reason[:500],
                score=score,
                created_at=now,
            )
    except IntegrityError:
        # This decision already has its order (a duplicate task delivery).
        return Order.objects.get(decision_key=decision_key)
    activity_record(
        kind=Kind.ORDER,
        bot=bot,
        at=now,
        message=f"{bot.name}: {mode} {intent.reason}",
        data={"client_order_id": order.client_order_id, "side": intent.side.value},
    )
    try:
        result = exchange.place_market_order(
            client_order_id=order.client_order_id,
            product=product,
            side=intent.side,
            quote_size=intent.quote_size,
            base_size=intent.base_size,
        )
    except OrderRejected as exc:
        order_reject(order=order, reason=exc.reason, message=exc.message, now=now)
        return order
    except Exception as exc:
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.UNKNOWN.value)
        order.status = OrderStatus.UNKNOWN.value
        activity_record(
            kind=Kind.ERROR,
            level=Level.WARNING,
            bot=bot,
            at=now,
            message=f"{bot.name}: order outcome unknown ({type(exc).__name__}: {exc}); looking it up",
            data={"client_order_id": order.client_order_id},
        )
        return order_resolve(order=order, exchange=exchange, now=now)
    return order_apply(order=order, result=result, now=now)


class OrderRefused(Exception):
    """An order stopped before it was written: the kill switch, or the decision is out of date."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def order_reject(*, order: Order, reason: str, message: str, now: datetime) -> Order:
    """Record the exchange's refusal on the order; never retried."""
    order.status = OrderStatus.REJECTED.value
    order.reject_reason = reason[:64]
    order.reject_message = message  # redacted, then cut to the column, as it is stored
    order.save(update_fields=["status", "reject_reason", "reject_message", "updated_at"])
    _order_failed(order, reason, message, now)
    return order


def _order_failed(order: Order, reason: str, message: str, now: datetime) -> None:
    """Count a failed order against its bot; too many in a row pause it."""
    bot = order.bot
    Bot.objects.filter(pk=bot.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    bot.refresh_from_db(fields=["consecutive_failures", "status"])
    activity_record(
        kind=Kind.ERROR,
        level=Level.ERROR,
        bot=bot,
        at=now,
        message=f"{bot.name}: order rejected: {reason}: {message}",
        data={"client_order_id": order.client_order_id, "reason": reason},
    )
    if bot.consecutive_failures >= settings.MAX_CONSECUTIVE_FAILURES:
        bot_pause(
            bot=bot,
            reason=f"{bot.consecutive_failures} failed orders in a row; last: {reason}",
            at=now,
            code="order_failures",
        )


def order_apply(*, order: Order, result: ExchangeOrder, now: datetime) -> Order:
    """Record what the exchange reports: status, fills (once each), the position."""
    bot = order.bot
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        known = set(order.trades.values_list("trade_id", flat=True))
        new_fills = [f for f in result.fills if f.trade_id not in known]
        for f in new_fills:
            Trade.objects.create(
                order=order,
                bot=bot,
                trade_id=f.trade_id,
                product_id=f.product_id,
                side=f.side.value,
                price=f.price,
                size=f.size,
                fee=f.fee,
                fee_currency=f.fee_currency,
                quote_value=f.price * f.size,
                executed_at=f.time,
            )
        rejected_now = result.status is OrderStatus.REJECTED and order.status != OrderStatus.REJECTED.value
        order.exchange_order_id = result.order_id
        order.status = result.status.value
        order.filled_size = result.filled_size
        order.average_price = result.average_price
        order.fees = result.fees
        if result.status is OrderStatus.REJECTED:
            order.reject_reason = (result.reject_reason or "REJECTED")[:64]
            order.reject_message = order.reject_message or "rejected by the exchange after it was accepted"
        order.save()
        if new_fills:
            quote = order.product_id.split("-")[-1]
            position_rebuild(bot=bot, quote_currency=quote)
            Bot.objects.filter(pk=bot.pk).update(consecutive_failures=0)
    for f in new_fills:
        activity_record(
            kind=Kind.FILL,
            bot=bot,
            at=now,
            message=f"{bot.name}: {f.side.value} {f.size} {f.product_id} @ {f.price} (fee {f.fee} {f.fee_currency})",
            data={"trade_id": f.trade_id, "price": str(f.price), "size": str(f.size), "side": f.side.value},
        )
    if rejected_now:
        _order_failed(order, order.reject_reason, order.reject_message, now)
    return order


def order_resolve(*, order: Order, exchange: Exchange, now: datetime) -> Order:
    """Settle an order whose outcome is unknown by asking the exchange for it."""
    try:
        result = exchange.get_order_by_client_id(order.client_order_id)
    except Exception as exc:
        log.warning("lookup of %s failed: %s", order.client_order_id, exc)
        return order
    if result is not None:
        return order_apply(order=order, result=result, now=now)
    # An order the exchange acknowledged (it gave us an id) is never written off here. The wait
    # is wall-clock time since the row was written: it is about the exchange's answer, and a
    # simulated market's clock may run 60 times faster than any answer can come.
    if not order.exchange_order_id and timezone.now() - order.written_at >= UNKNOWN_ORDER_GIVE_UP:
        Order.objects.filter(pk=order.pk).update(
            status=OrderStatus.FAILED.value, reject_message="never reached the exchange"
        )
        order.refresh_from_db()
        activity_record(
            kind=Kind.ERROR,
            level=Level.WARNING,
            bot=order.bot,
            at=now,
            message=f"{order.bot.name}: order {order.client_order_id} never reached the exchange; marked failed",
        )
    else:
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.UNKNOWN.value)
        order.status = OrderStatus.UNKNOWN.value
    return order


def orders_resolve_unresolved(*, exchange_for_mode: Callable[[str], Exchange], now: datetime) -> int:
    """Resolve every order whose outcome is not final yet, each where it was sent (run each tick).

    ``exchange_for_mode`` maps the order's own ``mode`` to its exchange: a live
    order is asked of Coinbase even if its bot or the process is on paper now.
    """
    count = 0
    for order in Order.objects.filter(status__in=UNRESOLVED_ORDER_STATUSES).select_related("bot"):
        try:
            exchange = exchange_for_mode(order.mode)
        except ExchangeError as exc:  # a live order and no credentials to ask with
            _order_unreachable(order, exc, now)
            continue
        _unreachable_reported.discard(order.pk)  # a later outage of it is news again
        order_resolve(order=order, exchange=exchange, now=now)
        count += 1
    return count


_unreachable_reported: set[int] = set()


def _order_unreachable(order: Order, exc: Exception, now: datetime) -> None:
    """A live order nobody can look up stays unresolved, and says so (once per process in the feed)."""
    message = (
        f"{order.bot.name}: {order.mode} order {order.client_order_id} ({order.status}) cannot be looked up: "
        f"{exc}. It stays unresolved and the bot places no new order until it is"
    )
    if order.pk in _unreachable_reported:
        log.error("%s", message)  # the log formatter redacts
        return
    _unreachable_reported.add(order.pk)
    activity_record(
        kind=Kind.ERROR,
        level=Level.ERROR,
        bot=order.bot,
        at=now,
        message=message,
        data={"client_order_id": order.client_order_id, "mode": order.mode},
    )


# --- daily counters --------------------------------------------------------
def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def bots_daily_counters(*, bot_ids: list[int], now: datetime) -> dict[int, tuple[int, Decimal, datetime | None]]:
    """Per bot: trades today, realised P&L today, last trade time (market clock), in one query."""
    today = Q(executed_at__gte=day_start(now))
    rows = (
        Trade.objects.filter(bot_id__in=bot_ids)
        .values("bot_id")
        .annotate(
            orders=Count("order", distinct=True, filter=today),
            realised=Sum("realised_pnl", filter=today),
            last=Max("executed_at"),
        )
    )
    counters = {bot_id: (0, Decimal("0"), None) for bot_id in bot_ids}
    for row in rows:
        counters[row["bot_id"]] = (row["orders"], row["realised"] or Decimal("0"), row["last"])
    return counters
