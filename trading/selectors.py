"""Reads for the interfaces (admin, dashboard, API, commands): one home per question.

Each selector answers one question in a fixed, small number of queries,
whatever the number of bots or events (no N+1).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from bots.models import ActivityEvent, Bot
from market.models import Heartbeat
from market.types import UNRESOLVED_ORDER_STATUSES, Balance
from trading.accounting import unrealised_pnl
from trading.models import BacktestRun, KillSwitch, Lease, Order, Position, Trade
from trading.services import day_start
from trading.workers import queue_stuck

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
    """What the overview shows for one bot: plain values from one row of one query.

    Frozen and hashable, so the dashboard can format and render each distinct
    card once (trading.presenters, trading.fragments).
    """

    pk: int
    name: str
    product_id: str
    granularity: str
    status: str
    paused_reason: str
    live: bool
    last_price: Decimal | None
    last_score: float | None
    buy_threshold: float
    sell_threshold: float
    last_action: str
    last_temperature: str
    last_skip_reason: str
    last_evaluated_at: datetime | None
    confirmation_action: str
    confirmation_since: datetime | None
    confirmation_minutes: float
    base_size: Decimal | None  # the position; None when the bot has never had one
    cost_basis: Decimal | None
    average_entry: Decimal | None
    trade_side: str | None  # the newest fill; None before the first
    trade_price: Decimal | None
    trade_size: Decimal | None
    trade_executed_at: datetime | None

    @property
    def unrealised_pnl(self) -> Decimal | None:
        """The position at the bot's last price, less what it cost; None without a position or a price."""
        if self.base_size is None or self.cost_basis is None or self.last_price is None:
            return None
        return unrealised_pnl(self.base_size, self.cost_basis, self.last_price)


# The query path of each BotCard field, in order: the bot's columns, its position's, its newest trade's
# (the annotations bot_cards adds).
_POSITION_COLUMNS = ("base_size", "cost_basis", "average_entry")
_CARD_PATHS = tuple(f"position__{f.name}" if f.name in _POSITION_COLUMNS else f.name for f in fields(BotCard))
_TRADE_COLUMNS = ("side", "price", "size", "executed_at")


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


def bot_cards() -> list[BotCard]:
    """One card per bot, by name: its columns, its position and its newest fill, in one query.

    The newest fill is read by subqueries on the bot (-executed_at index), so the
    cost does not grow with the trade history; rows come back as tuples (no model
    instances), because every open dashboard asks for every bot every 5 s.
    """
    newest = Trade.objects.filter(bot=OuterRef("pk")).order_by("-executed_at", "-id")
    rows = (
        Bot.objects.annotate(**{f"trade_{c}": Subquery(newest.values(c)[:1]) for c in _TRADE_COLUMNS})
        .order_by("name")
        .values_list(*_CARD_PATHS)
    )
    return [BotCard(*row) for row in rows]


def portfolio_summary(*, balances: dict[str, Balance], now: datetime, quote_currency: str = "USD") -> PortfolioSummary:
    """Equity = free cash + every position at the bot's last price."""
    cash = balances[quote_currency].available if quote_currency in balances else ZERO
    value = ZERO
    unrealised = ZERO
    # Only the columns the sum needs, as tuples: every open overview asks every 5 s.
    held = Position.objects.exclude(base_size=0).values_list("base_size", "cost_basis", "bot__last_price")
    for base_size, cost_basis, mark in held:
        if mark is None:
            continue
        value += base_size * mark
        unrealised += unrealised_pnl(base_size, cost_basis, mark)
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
    """The newest events first (index on -at, -id: independent of the table's size).

    The bot rows are left unread: every message already names its bot.
    """
    qs = ActivityEvent.objects.order_by("-at", "-id")
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
    unresolved = Order.objects.filter(status__in=UNRESOLVED_ORDER_STATUSES).count()
    return HealthSnapshot(processes, holder, KillSwitch.objects.filter(pk=1).first(), errors, unresolved)


# --- the dashboard's reads ---------------------------------------------------
LOG_NAMES = ("runner", "worker", "web")
LOG_TAIL_BYTES = 64_000


@dataclass(frozen=True)
class StatusStrip:
    """What every dashboard page shows above its content, refreshed every few seconds."""

    ticker_beat_at: datetime | None
    ticker_age_seconds: float | None
    ticker_alive: bool
    ticker_info: dict
    live_bots: list[str]


@dataclass(frozen=True)
class ClusterState:
    cluster_id: str
    host: str
    status: str
    workers: int
    uptime_seconds: float | None
    reincarnations: int


@dataclass(frozen=True)
class TaskQueueState:
    """django-q2 as the health page shows it: clusters, the queue, recent outcomes."""

    broker: str
    clusters: list[ClusterState]
    queued: int | None
    last_success_at: datetime | None
    failures: list[tuple[str, datetime, str]]
    schedules: list[tuple[str, datetime | None]]
    broker_error: str = ""  # "Redis unavailable: ..." when the broker did not answer
    oldest_queued_at: datetime | None = None  # when the oldest waiting task was enqueued
    last_taken_at: datetime | None = None  # when a worker (any host) last took a task
    stuck: str = ""  # why no task flows although tasks wait (trading.workers.queue_stuck), or ""
    state: str = "ok"  # "ok", "stuck" or "unavailable"


def status_strip() -> StatusStrip:
    """The newest ticker heartbeat and the running bots that trade real money (two queries)."""
    now = timezone.now()
    beat = Heartbeat.objects.filter(role="ticker").order_by("-beat_at").first()
    age = (now - beat.beat_at).total_seconds() if beat else None
    live: list[str] = []
    if settings.TRADING_MODE == "live":
        live = list(Bot.objects.filter(live=True, status=Bot.Status.RUNNING).values_list("name", flat=True))
    return StatusStrip(
        ticker_beat_at=beat.beat_at if beat else None,
        ticker_age_seconds=age,
        ticker_alive=age is not None and age < HEARTBEAT_STALE_SECONDS and bool(beat.info.get("lease", True)),
        ticker_info=beat.info if beat else {},
        live_bots=live,
    )


def orders_recent(*, bot: Bot, limit: int = 20) -> list[Order]:
    """The bot's newest orders first (index on bot, -created_at)."""
    return list(Order.objects.filter(bot=bot).order_by("-created_at", "-id")[:limit])


def trades_recent(*, bot: Bot, limit: int = 20) -> list[Trade]:
    """The bot's newest fills first (index on bot, -executed_at)."""
    return list(Trade.objects.filter(bot=bot).order_by("-executed_at", "-id")[:limit])


def trades_between(*, bot: Bot, start: datetime, end: datetime) -> list[Trade]:
    """The bot's fills from ``start`` to ``end``, oldest first: the chart's markers."""
    return list(
        Trade.objects.filter(bot=bot, executed_at__gte=start, executed_at__lte=end).order_by("executed_at", "id")
    )


def task_queue_state() -> TaskQueueState:
    """django-q2's clusters (from the broker's stats), queue length, recent failures and schedules."""
    from django_q.brokers import get_broker
    from django_q.models import Failure, Schedule, Success
    from django_q.status import Stat

    from autotrader.logging import redact
    from autotrader.outage import is_redis_outage, redis_unavailable_message

    broker = get_broker()
    clusters: list[ClusterState] = []
    queued: int | None = None
    info, broker_error = type(broker).__name__, ""
    try:
        clusters = [
            ClusterState(
                cluster_id=str(stat.cluster_id),
                host=stat.host,
                status=str(stat.status),
                workers=len(stat.workers),
                uptime_seconds=stat.uptime() if stat.tob else None,
                reincarnations=stat.reincarnations,
            )
            for stat in Stat.get_all(broker=broker)
        ]
        queued = broker.queue_size()
        info = broker.info()
    except Exception as exc:  # a broker that is down is shown as such, not as a crashed page
        outage = is_redis_outage(exc)
        broker_error = redis_unavailable_message(exc) if outage else f"broker unavailable: {redact(str(exc))}"
    last = Success.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    failures = [
        (f.name or f.func, f.stopped, _last_line(redact(str(f.result or ""))))
        for f in Failure.objects.order_by("-stopped")[:5]
    ]
    schedules = [(s.name or s.func, s.next_run) for s in Schedule.objects.order_by("next_run")[:20]]
    now = timezone.now()
    oldest = _oldest_queued_at(broker) if queued else None
    taken = _last_taken_at(last, failures[0][1] if failures else None)
    stuck = queue_stuck(
        queued=queued,
        waited=None if oldest is None else (now - oldest).total_seconds(),
        idle=None if taken is None else (now - taken).total_seconds(),
        limit=settings.Q_STUCK_SECONDS,
    )
    if stuck and not clusters:
        stuck = f"no worker cluster is running: {stuck}"
    state = "unavailable" if broker_error else "stuck" if stuck else "ok"
    return TaskQueueState(info, clusters, queued, last, failures, schedules, broker_error, oldest, taken, stuck, state)


def _oldest_queued_at(broker: object) -> datetime | None:
    """When the task at the head of the queue was enqueued (django-q2 stamps ``started`` then); None if unknown."""
    from django_q.brokers.orm import ORM
    from django_q.brokers.redis_broker import Redis
    from django_q.signing import SignedPackage

    try:
        if isinstance(broker, Redis):
            raw = broker.connection.lindex(broker.list_key, 0)  # rpush'd, blpop'd: the head is the oldest
        elif isinstance(broker, ORM):
            waiting = broker.get_connection().filter(key=broker.list_key, lock__lte=timezone.now())
            raw = waiting.order_by("id").values_list("payload", flat=True).first()
        else:
            return None
        started = SignedPackage.loads(raw).get("started") if raw else None
    except Exception:  # gone meanwhile, foreign or unreadable: unknown
        return None
    return started if isinstance(started, datetime) else None


def _last_taken_at(*finished: datetime | None) -> datetime | None:
    """The newest of the workers' ``taken_at`` (their heartbeats, any host) and the given finish times."""
    times = [t for t in finished if t is not None]
    for info in Heartbeat.objects.filter(role="worker").values_list("info", flat=True):
        try:
            times.append(datetime.fromisoformat(info["taken_at"]))
        except (KeyError, TypeError, ValueError):
            continue
    return max(times, default=None)


def _last_line(text: str) -> str:
    rows = text.strip().splitlines()
    return rows[-1][:300] if rows else ""


def log_tail(*, name: str, lines: int = 200) -> list[str]:
    """The last lines of ``LOG_DIR/<name>.log`` with secrets scrubbed; [] when there is no such log.

    Only the end of the file is read, so a large log costs what a small one does.
    """
    from autotrader.logging import redact

    if name not in LOG_NAMES:
        raise ValueError(f"unknown log {name!r}; choose one of {', '.join(LOG_NAMES)}")
    path = settings.LOG_DIR / f"{name}.log"
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            data = fh.read()
    except FileNotFoundError:
        return []
    # Redact the whole block before splitting: a private key spans lines.
    rows = redact(data.decode("utf-8", "replace")).splitlines()
    if size > LOG_TAIL_BYTES:
        rows = rows[1:]  # the first line was cut in half
    return rows[-lines:]


# --- the API's lists -----------------------------------------------------------
def _window(qs: QuerySet, field: str, start: datetime | None, end: datetime | None) -> QuerySet:
    """Rows with ``field`` in [start, end)."""
    if start is not None:
        qs = qs.filter(**{f"{field}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{field}__lt": end})
    return qs


def trade_list(
    *,
    bot_id: int | None = None,
    product_id: str | None = None,
    side: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Trade]:
    """Fills, newest first, filtered by bot, pair, side and execution time."""
    qs = Trade.objects.select_related("bot").order_by("-executed_at", "-id")
    if bot_id is not None:
        qs = qs.filter(bot_id=bot_id)
    if product_id:
        qs = qs.filter(product_id=product_id.upper())
    if side:
        qs = qs.filter(side=side.upper())
    return _window(qs, "executed_at", start, end)


def order_list(
    *,
    bot_id: int | None = None,
    product_id: str | None = None,
    side: str | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Order]:
    """Orders, newest first, filtered by bot, pair, side, status and decision time."""
    qs = Order.objects.select_related("bot").order_by("-created_at", "-id")
    if bot_id is not None:
        qs = qs.filter(bot_id=bot_id)
    if product_id:
        qs = qs.filter(product_id=product_id.upper())
    if side:
        qs = qs.filter(side=side.upper())
    if status:
        qs = qs.filter(status=status.upper())
    return _window(qs, "created_at", start, end)


def position_list(
    *, bot_id: int | None = None, product_id: str | None = None, open_only: bool = False
) -> QuerySet[Position]:
    """Positions with their bot (for the mark price) and open tranches, by bot name."""
    qs = Position.objects.select_related("bot").prefetch_related("tranches").order_by("bot__name", "id")
    if bot_id is not None:
        qs = qs.filter(bot_id=bot_id)
    if product_id:
        qs = qs.filter(product_id=product_id.upper())
    if open_only:
        qs = qs.exclude(base_size=0)
    return qs


def activity_list(
    *,
    bot_id: int | None = None,
    kind: str | None = None,
    level: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[ActivityEvent]:
    """The activity feed, newest first, filtered by bot, kind, level and market time."""
    qs = ActivityEvent.objects.select_related("bot").order_by("-at", "-id")
    if bot_id is not None:
        qs = qs.filter(bot_id=bot_id)
    if kind:
        qs = qs.filter(kind=kind)
    if level:
        qs = qs.filter(level=level)
    return _window(qs, "at", start, end)


def backtest_list(*, bot_id: int | None = None, product_id: str | None = None) -> QuerySet[BacktestRun]:
    """Stored backtest runs, newest first, optionally of one bot or pair."""
    qs = BacktestRun.objects.select_related("bot").order_by("-created_at", "-id")
    if bot_id is not None:
        qs = qs.filter(bot_id=bot_id)
    if product_id:
        qs = qs.filter(product_id=product_id.upper())
    return qs
