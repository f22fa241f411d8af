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

from bots.models import Bot
from market.exchange import Exchange
from trading.accounting import replay
from trading.models import Order, Position, Trade
from trading.services import _fill_record, activity_record, order_apply, position_rebuild


@dataclass(frozen=True)
class Discrepancy:
    bot: str
    kind: str  # missing_fill | unknown_trade | status | missing_order | position
    detail: str
    fixed: bool = False


def reconcile(
    *, exchange_for: Callable[[Bot], Exchange], now: datetime, days: float = 7, fix: bool = False
) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    since = now - timedelta(days=days)
    touched: set[int] = set()
    orders = Order.objects.filter(created_at__gte=since).exclude(status="REJECTED").select_related("bot")
    for order in orders:
        remote = exchange_for(order.bot).get_order_by_client_id(order.client_order_id)
        ours = set(order.trades.values_list("trade_id", flat=True))
        if remote is None:
            if ours:
                found.append(
                    Discrepancy(order.bot.name, "missing_order", f"{order.client_order_id} has fills here only", False)
                )
            continue
        theirs = {f.trade_id for f in remote.fills}
        missing = theirs - ours
        unknown = ours - theirs
        status_differs = remote.status.value != order.status
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
                    f"{order.client_order_id}: {order.status} here, {remote.status} there",
                    fix,
                )
            )
        if fix and (missing or unknown or status_differs):
            with transaction.atomic():
                Trade.objects.filter(order=order, trade_id__in=unknown).delete()
                order_apply(order=order, result=remote, now=now)
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
        if found:
            activity_record(
                kind="system", level="warning", at=now, message=f"reconciliation repaired {len(found)} difference(s)"
            )
    return found
