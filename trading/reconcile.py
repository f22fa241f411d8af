"""Reconciliation: compare our orders, trades and positions with the exchange's record.

The exchange is the source of truth for what was filled. ``reconcile`` looks
each recent order up by its client_order_id and reports (or, with ``fix``,
repairs): fills we never recorded, trades the exchange does not know, a
status that differs, and positions that no longer equal their trades.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bots.models import Bot
from bots.services import activity_record
from market.exchange import Exchange, ExchangeError
from market.types import UNRESOLVED_ORDER_STATUSES, ExchangeOrder
from trading.accounting import replay
from trading.models import Order, Position, Trade
from trading.services import _fill_record, order_apply, position_rebuild


@dataclass(frozen=True)
class Discrepancy:
    bot: str
    kind: str  # missing_fill | unknown_trade | status | missing_order | unresolved | position
    detail: str
    fixed: bool = False


class ExchangeUnreachable(Exception):
    """An exchange could not be asked about an order: nothing was compared, nothing changed."""


def reconcile(
    *, exchange_for_mode: Callable[[str], Exchange], now: datetime, days: float = 7, fix: bool = False
) -> list[Discrepancy]:
    """Compare the period's orders with the exchange each was sent to, by the order's own mode.

    Every order of the period counts, whatever its bot trades on now: a live
    order is asked of Coinbase, a paper order of the paper wallet. The period
    is ``days`` of market time or of wall-clock time, whichever reaches
    further (a simulated market's clock is not the wall's). Every order is
    looked up before anything is compared or repaired, so an exchange that
    stops answering halfway raises ``ExchangeUnreachable`` with nothing changed.
    """
    period = Q(created_at__gte=now - timedelta(days=days)) | Q(written_at__gte=timezone.now() - timedelta(days=days))
    orders = list(Order.objects.filter(period).exclude(status="REJECTED").select_related("bot").order_by("id"))
    remote: dict[int, ExchangeOrder | None] = {}
    for order in orders:
        try:
            remote[order.pk] = exchange_for_mode(order.mode).get_order_by_client_id(order.client_order_id)
        except ExchangeError as exc:
            raise ExchangeUnreachable(
                f"could not look up {order.mode} order {order.client_order_id}: {exc}; nothing was changed"
            ) from exc
    found: list[Discrepancy] = []
    touched: set[int] = set()
    for order in orders:
        theirs_order = remote[order.pk]
        ours = set(order.trades.values_list("trade_id", flat=True))
        if theirs_order is None:
            if order.status in UNRESOLVED_ORDER_STATUSES:
                found.append(
                    Discrepancy(
                        order.bot.name,
                        "unresolved",
                        f"{order.mode} order {order.client_order_id} is {order.status} here and unknown to the "
                        "exchange (the runner looks it up every tick and fails it after five minutes)",
                        False,
                    )
                )
            elif ours:
                found.append(
                    Discrepancy(
                        order.bot.name,
                        "missing_order",
                        f"{order.mode} order {order.client_order_id} has fills here only",
                        False,
                    )
                )
            continue
        theirs = {f.trade_id for f in theirs_order.fills}
        missing = theirs - ours
        unknown = ours - theirs
        status_differs = theirs_order.status.value != order.status
        for trade_id in sorted(missing):
            found.append(Discrepancy(order.bot.name, "missing_fill", f"{order.client_order_id}: fill {trade_id}", fix))
        for trade_id in sorted(unknown):
            found.append(
                Discrepancy(order.bot.name, "unknown_trade", f"{order.client_order_id}: trade {trade_id}", fix)
            )
        if status_differs:
            found.append(
                Discrepancy(
                    order.bot.name,
                    "status",
                    f"{order.client_order_id}: {order.status} here, {theirs_order.status} there",
                    fix,
                )
            )
        if fix and (missing or unknown or status_differs):
            with transaction.atomic():
                Trade.objects.filter(order=order, trade_id__in=unknown).delete()
                order_apply(order=order, result=theirs_order, now=now)
            touched.add(order.bot_id)
    for position in Position.objects.select_related("bot"):
        quote = position.product_id.split("-")[-1]
        state = replay([_fill_record(t, quote) for t in Trade.objects.filter(bot=position.bot)])
        if (position.base_size, position.realised_pnl) != (state.base_size, state.realised_pnl):
            found.append(
                Discrepancy(
                    position.bot.name,
                    "position",
                    f"position {position.base_size} / realised {position.realised_pnl}; "
                    f"trades say {state.base_size} / {state.realised_pnl}",
                    fix,
                )
            )
            touched.add(position.bot_id)
    if fix:
        for bot in Bot.objects.filter(pk__in=touched):
            position_rebuild(bot=bot, quote_currency=bot.product_id.split("-")[-1])
        repaired = sum(1 for d in found if d.fixed)
        if repaired:
            activity_record(
                kind="system", level="warning", at=now, message=f"reconciliation repaired {repaired} difference(s)"
            )
    return found
