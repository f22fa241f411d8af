"""Reads for the interfaces (admin, dashboard, API, commands): one home per question.

Each selector answers one question in a fixed, small number of queries,
whatever the number of bots or events (no N+1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from bots.models import Bot
from market.types import Balance
from trading.models import ActivityEvent, Heartbeat, KillSwitch, Lease, Order, Position, Trade
from trading.services import day_start

ZERO = Decimal("0")
HEARTBEAT_STALE_SECONDS = 60


@dataclass(frozen=True)
class PortfolioSummary:
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    realised_today: Decimal
    realised_total: Decimal
    unrealised: Decimal
    fees_total: Decimal
    quote_currency: str = "USD"


@dataclass(frozen=True)
class BotCard:
    """What the overview shows for one bot."""

    bot: Bot
    position: Position | None
    last_trade: Trade | None
    unrealised_pnl: Decimal | None
    position_value: Decimal | None


@dataclass(frozen=True)
class ProcessState:
    name: str
    role: str
    host: str
    pid: int
    beat_at: datetime
    age_seconds: float
    alive: bool
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class HealthSnapshot:
    processes: list[ProcessState]
    ticker_lease_holder: str | None
    kill_switch: KillSwitch | None
    recent_errors: list[ActivityEvent]
    unresolved_orders: int


def bots_with_state() -> QuerySet[Bot]:
    """Bots with their position, ready for cards and lists (one query)."""
    return Bot.objects.select_related("position").order_by("name")


def bot_cards(*, bots: QuerySet[Bot] | None = None) -> list[BotCard]:
    """One card per bot, with its position and last trade, in two queries."""
    bots = list(
        (bots if bots is not None else bots_with_state()).prefetch_related(
            Prefetch("trades", queryset=Trade.objects.order_by("-executed_at", "-id"), to_attr="_recent_trades")
        )
    )
    cards = []
    for bot in bots:
        position = getattr(bot, "position", None)
        mark = bot.last_price
        unrealised = position.unrealised_pnl(mark) if position is not None and mark is not None else None
        value = position.base_size * mark if position is not None and mark is not None else None
        recent = bot._recent_trades
        cards.append(BotCard(bot, position, recent[0] if recent else None, unrealised, value))
    return cards


def portfolio_summary(*, balances: dict[str, Balance], now: datetime, quote_currency: str = "USD") -> PortfolioSummary:
    """Equity = free cash + every position at the bot's last price."""
    cash = balances[quote_currency].available if quote_currency in balances else ZERO
    value = ZERO
    unrealised = ZERO
    for position in Position.objects.select_related("bot").exclude(base_size=0):
        mark = position.bot.last_price
        if mark is None:
            continue
        value += position.base_size * mark
        unrealised += position.base_size * mark - position.cost_basis
    totals = Position.objects.aggregate(realised=Sum("realised_pnl"), fees=Sum("fees_paid"))
    today = Trade.objects.filter(executed_at__gte=day_start(now)).aggregate(s=Sum("realised_pnl"))["s"]
    return PortfolioSummary(
        cash=cash,
        positions_value=value,
        equity=cash + value,
        realised_today=today or ZERO,
        realised_total=totals["realised"] or ZERO,
        unrealised=unrealised,
        fees_total=totals["fees"] or ZERO,
        quote_currency=quote_currency,
    )


def activity_recent(*, limit: int = 50, bot: Bot | None = None, kinds: list[str] | None = None) -> list[ActivityEvent]:
    """The newest events first (index on -at, -id: independent of the table's size)."""
    qs = ActivityEvent.objects.select_related("bot").order_by("-at", "-id")
    if bot is not None:
        qs = qs.filter(bot=bot)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return list(qs[:limit])


def health_snapshot() -> HealthSnapshot:
    """Every process's heartbeat (all hosts), the ticker lease, the kill switch, recent errors."""
    from trading.runner import TICKER_LEASE

    now = timezone.now()
    processes = [
        ProcessState(
            name=b.name,
            role=b.role,
            host=b.host,
            pid=b.pid,
            beat_at=b.beat_at,
            age_seconds=(now - b.beat_at).total_seconds(),
            alive=(now - b.beat_at).total_seconds() < HEARTBEAT_STALE_SECONDS,
            info=b.info,
        )
        for b in Heartbeat.objects.filter(beat_at__gte=now - timedelta(days=1))
    ]
    lease = Lease.objects.filter(name=TICKER_LEASE).first()
    holder = lease.owner if lease and lease.owner and lease.until and lease.until > now else None
    errors = list(ActivityEvent.objects.filter(level=ActivityEvent.Level.ERROR).select_related("bot")[:20])
    unresolved = Order.objects.filter(status__in=["PENDING", "UNKNOWN"]).count()
    return HealthSnapshot(processes, holder, KillSwitch.objects.filter(pk=1).first(), errors, unresolved)
