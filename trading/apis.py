"""Trading over the API: fills, orders, positions, activity, kill switch, health, backtests.

Thin: reads come from ``trading.selectors``, the one write (the kill switch)
from ``trading.services``. Money is a Decimal string, times ISO 8601 UTC, and
text that may quote an exchange is scrubbed of secrets.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from autotrader.api.base import (
    MARKET_ERRORS,
    ApiView,
    FiniteFloatField,
    JSONListField,
    JSONObjectField,
    MoneyField,
    RedactedCharField,
    RedactedJSONField,
    UtcDateTimeField,
    get_object,
    id_filter,
    id_parameter,
    validated_query,
)
from autotrader.outage import redis_problem
from bots.models import ActivityEvent
from market.apis import StreamSerializer
from market.services import get_exchange, get_market_data
from market.stream import stream_status
from market.types import OrderStatus, Side
from trading.models import Order
from trading.selectors import (
    activity_list,
    backtest_list,
    health_snapshot,
    order_list,
    portfolio_summary,
    position_list,
    task_queue_state,
    trade_list,
)
from trading.services import kill_switch_get, kill_switch_set

SIDES = [s.value for s in Side]


# --- filters ----------------------------------------------------------------
class WindowFilterSerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="From this time (inclusive), ISO 8601.")
    end = serializers.DateTimeField(required=False, help_text="Until this time (exclusive), ISO 8601.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "start" in attrs and "end" in attrs and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["must be after start"]})
        return attrs


class SideField(serializers.ChoiceField):
    """BUY or SELL, in any case."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=SIDES, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data.upper() if isinstance(data, str) else data)


class TradeFilterSerializer(WindowFilterSerializer):
    bot = id_filter(help_text="Only this bot's fills.")
    product_id = serializers.CharField(max_length=32, required=False, help_text="Only this pair, e.g. BTC-USD.")
    side = SideField(required=False)


class OrderFilterSerializer(TradeFilterSerializer):
    status = serializers.ChoiceField(choices=[s.value for s in OrderStatus], required=False)


class PositionFilterSerializer(serializers.Serializer):
    bot = id_filter(help_text="Only this bot's position.")
    product_id = serializers.CharField(max_length=32, required=False)
    open = serializers.BooleanField(required=False, default=False, help_text="Only positions holding something.")


class ActivityFilterSerializer(WindowFilterSerializer):
    bot = id_filter(help_text="Only this bot's events.")
    kind = serializers.ChoiceField(choices=ActivityEvent.Kind.choices, required=False)
    level = serializers.ChoiceField(choices=ActivityEvent.Level.choices, required=False)


def _bot_filter(filters: dict[str, Any]) -> dict[str, Any]:
    if "bot" in filters:
        filters["bot_id"] = filters.pop("bot")
    return filters


# --- fills, orders, positions ---------------------------------------------------
class TradeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    trade_id = serializers.CharField(help_text="The exchange's fill id.")
    order_id = serializers.IntegerField(help_text="The order this fill belongs to (see /orders/{id}).")
    bot_id = serializers.IntegerField()
    bot_name = serializers.CharField(source="bot.name")
    product_id = serializers.CharField()
    side = serializers.ChoiceField(choices=SIDES)
    price = MoneyField()
    size = MoneyField(help_text="Base units.")
    fee = MoneyField()
    fee_currency = serializers.CharField()
    quote_value = MoneyField(help_text="price x size.")
    realised_pnl = MoneyField(help_text="P&L this fill realised (sells).")
    executed_at = UtcDateTimeField()


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    bot_id = serializers.IntegerField()
    bot_name = serializers.CharField(source="bot.name")
    client_order_id = serializers.CharField()
    exchange_order_id = serializers.CharField()
    mode = serializers.ChoiceField(choices=Order.Mode.choices)
    product_id = serializers.CharField()
    side = serializers.ChoiceField(choices=SIDES)
    quote_size = MoneyField(allow_null=True, help_text="Quote to spend (buys).")
    base_size = MoneyField(allow_null=True, help_text="Base to sell (sells).")
    status = serializers.ChoiceField(choices=[s.value for s in OrderStatus])
    filled_size = MoneyField()
    average_price = MoneyField(allow_null=True)
    fees = MoneyField()
    reject_reason = RedactedCharField(help_text="The exchange's rejection code, when rejected.")
    reject_message = RedactedCharField(help_text="The exchange's explanation, when rejected or failed.")
    reason = serializers.CharField(help_text="Why the bot placed it.")
    score = FiniteFloatField(allow_null=True, help_text="The score that decided it.")
    created_at = UtcDateTimeField(help_text="Market time of the decision.")
    updated_at = UtcDateTimeField()


class TrancheSerializer(serializers.Serializer):
    entry_price = MoneyField()
    size = MoneyField()
    cost = MoneyField(help_text="What the tranche cost, fees included.")
    opened_at = UtcDateTimeField()


class PositionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    bot_id = serializers.IntegerField()
    bot_name = serializers.CharField(source="bot.name")
    product_id = serializers.CharField()
    base_size = MoneyField()
    cost_basis = MoneyField()
    average_entry = MoneyField(allow_null=True, help_text="Fees included.")
    last_buy_price = MoneyField(allow_null=True)
    realised_pnl = MoneyField()
    fees_paid = MoneyField()
    opened_at = UtcDateTimeField(allow_null=True)
    mark_price = MoneyField(source="bot.last_price", allow_null=True, help_text="The bot's last price.")
    value = serializers.SerializerMethodField()
    unrealised_pnl = serializers.SerializerMethodField()
    tranches = TrancheSerializer(many=True, source="tranches.all")

    @extend_schema_field(MoneyField(allow_null=True))
    def get_value(self, position: Any) -> str | None:
        mark = position.bot.last_price
        return None if mark is None else MoneyField().to_representation(position.base_size * mark)

    @extend_schema_field(MoneyField(allow_null=True))
    def get_unrealised_pnl(self, position: Any) -> str | None:
        pnl = position.unrealised_pnl(position.bot.last_price)
        return None if pnl is None else MoneyField().to_representation(pnl)


class TradeListApi(ApiView):
    @extend_schema(tags=["trading"], parameters=[TradeFilterSerializer], responses=TradeSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Fills, newest first; filter by bot, pair, side and a time window [start, end)."""
        filters = _bot_filter(validated_query(request, TradeFilterSerializer))
        return self.paginate(trade_list(**filters), TradeSerializer)


class OrderListApi(ApiView):
    @extend_schema(tags=["trading"], parameters=[OrderFilterSerializer], responses=OrderSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Orders with their state and rejection reason, newest first."""
        filters = _bot_filter(validated_query(request, OrderFilterSerializer))
        return self.paginate(order_list(**filters), OrderSerializer)


class OrderDetailApi(ApiView):
    @extend_schema(
        tags=["trading"],
        parameters=[id_parameter("The order's id.")],
        responses=OrderSerializer,
    )
    def get(self, request: Request, id: int) -> Response:
        """One order with its state, fills so far and rejection reason."""
        return Response(OrderSerializer(get_object(order_list(), id)).data)


class PositionListApi(ApiView):
    @extend_schema(tags=["trading"], parameters=[PositionFilterSerializer], responses=PositionSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Each bot's position with its open tranches, marked at the bot's last price."""
        filters = _bot_filter(validated_query(request, PositionFilterSerializer))
        filters["open_only"] = filters.pop("open", False)
        return self.paginate(position_list(**filters), PositionSerializer)


# --- activity ------------------------------------------------------------------
class ActivitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    bot_id = serializers.IntegerField(allow_null=True)
    bot_name = serializers.CharField(source="bot.name", allow_null=True, default=None)
    kind = serializers.ChoiceField(choices=ActivityEvent.Kind.choices)
    level = serializers.ChoiceField(choices=ActivityEvent.Level.choices)
    message = RedactedCharField()
    data = RedactedJSONField()
    at = UtcDateTimeField(help_text="Market time of the event.")


class ActivityListApi(ApiView):
    @extend_schema(tags=["trading"], parameters=[ActivityFilterSerializer], responses=ActivitySerializer(many=True))
    def get(self, request: Request) -> Response:
        """The activity feed (decisions, skips, orders, fills, errors, state changes), newest first."""
        filters = _bot_filter(validated_query(request, ActivityFilterSerializer))
        return self.paginate(activity_list(**filters), ActivitySerializer)


# --- kill switch ---------------------------------------------------------------
class KillSwitchSerializer(serializers.Serializer):
    engaged = serializers.BooleanField(help_text="While engaged no bot places a new order.")
    reason = serializers.CharField()
    changed_by = serializers.CharField()
    changed_at = UtcDateTimeField(allow_null=True)


class KillSwitchInputSerializer(serializers.Serializer):
    engaged = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class KillSwitchApi(ApiView):
    @extend_schema(tags=["trading"], responses=KillSwitchSerializer)
    def get(self, request: Request) -> Response:
        """Whether the global stop is engaged, why, by whom and since when."""
        return Response(KillSwitchSerializer(kill_switch_get()).data)

    @extend_schema(tags=["trading"], request=KillSwitchInputSerializer, responses=KillSwitchSerializer)
    def post(self, request: Request) -> Response:
        """Engage (stop every new order from the next evaluation on) or release the global stop."""
        serializer = KillSwitchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        switch = kill_switch_set(
            engaged=serializer.validated_data["engaged"],
            reason=serializer.validated_data["reason"],
            by=f"{request.user.get_username()} (API)",
            at=get_market_data().now(),
        )
        return Response(KillSwitchSerializer(switch).data)


# --- portfolio and health -------------------------------------------------------
class PortfolioSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Order.Mode.choices, help_text="TRADING_MODE.")
    at = UtcDateTimeField(help_text="Market time.")
    quote_currency = serializers.CharField()
    cash = MoneyField(help_text="Free quote balance.")
    positions_value = MoneyField(help_text="Every position at its bot's last price.")
    equity = MoneyField()
    realised_today = MoneyField(help_text="Since midnight UTC, market time.")
    realised_total = MoneyField()
    unrealised = MoneyField()
    fees_total = MoneyField()


class PortfolioApi(ApiView):
    api_errors = MARKET_ERRORS

    @extend_schema(tags=["trading"], responses=PortfolioSerializer)
    def get(self, request: Request) -> Response:
        """Equity: free cash plus every position at its bot's last price, and the P&L."""
        mode = settings.TRADING_MODE
        now = get_market_data().now()
        summary = portfolio_summary(balances=get_exchange(live=mode == "live").balances(), now=now)
        data = {**asdict(summary), "mode": mode, "at": now}
        return Response(PortfolioSerializer(data).data)


class ProcessSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="role@host:pid")
    role = serializers.CharField()
    host = serializers.CharField()
    pid = serializers.IntegerField()
    beat_at = UtcDateTimeField()
    age_seconds = serializers.FloatField()
    alive = serializers.BooleanField()
    info = RedactedJSONField()


class ClusterSerializer(serializers.Serializer):
    cluster_id = serializers.CharField()
    host = serializers.CharField()
    status = serializers.CharField()
    workers = serializers.IntegerField()
    uptime_seconds = serializers.FloatField(allow_null=True)
    reincarnations = serializers.IntegerField()


class TaskFailureSerializer(serializers.Serializer):
    task = serializers.CharField()
    at = UtcDateTimeField()
    error = RedactedCharField()


class TaskQueueSerializer(serializers.Serializer):
    broker = serializers.CharField()
    broker_error = serializers.CharField(allow_blank=True, help_text='"" when the broker answered.')
    state = serializers.ChoiceField(
        choices=["ok", "stuck", "unavailable"],
        help_text="stuck: tasks have waited Q_STUCK_SECONDS and no worker has taken one for as long.",
    )
    stuck = serializers.CharField(allow_blank=True, help_text='Why it is stuck; "" when it is not.')
    clusters = ClusterSerializer(many=True)
    queued = serializers.IntegerField(allow_null=True, help_text="null: the broker did not answer.")
    oldest_queued_at = UtcDateTimeField(allow_null=True, help_text="When the oldest waiting task was enqueued.")
    last_taken_at = UtcDateTimeField(allow_null=True, help_text="When a worker (any host) last took a task.")
    last_success_at = UtcDateTimeField(allow_null=True)
    failures = TaskFailureSerializer(many=True)


class HealthSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Order.Mode.choices, help_text="TRADING_MODE.")
    redis = serializers.CharField(
        help_text='"ok", or "Redis unavailable: <reason>" (then a 503, with everything else that is known).'
    )
    market_data = serializers.CharField()
    market_time = UtcDateTimeField(allow_null=True, help_text="null: the market did not answer.")
    ticker_lease_holder = serializers.CharField(allow_null=True, help_text="The runner ticking now, if any.")
    processes = ProcessSerializer(many=True, help_text="Heartbeats of the last day, every host.")
    task_queue = TaskQueueSerializer()
    stream = StreamSerializer()
    kill_switch = KillSwitchSerializer()
    unresolved_orders = serializers.IntegerField(help_text="Orders whose outcome is not known yet.")
    recent_errors = ActivitySerializer(many=True)


class SystemHealthApi(ApiView):
    @extend_schema(tags=["system"], responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request: Request) -> Response:
        """Runner heartbeat and lease, workers and their queue, the stream, the kill switch, recent errors.

        With Redis down it still answers, with a 503 and ``redis`` saying why.
        """
        redis_down = redis_problem()
        health = health_snapshot()
        queue = task_queue_state()
        try:
            market_time = get_market_data().now()
        except Exception:  # a health page reports a dead market, it does not die with it
            market_time = None
        data = {
            "mode": settings.TRADING_MODE,
            "redis": redis_down or "ok",
            "market_data": settings.MARKET_DATA,
            "market_time": market_time,
            "ticker_lease_holder": health.ticker_lease_holder,
            "processes": health.processes,
            "task_queue": {
                **asdict(queue),
                "failures": [{"task": t, "at": at, "error": e} for t, at, e in queue.failures],
            },
            "stream": stream_status(),
            "kill_switch": health.kill_switch or kill_switch_get(),
            "unresolved_orders": health.unresolved_orders,
            "recent_errors": health.recent_errors,
        }
        return Response(HealthSerializer(data).data, status=503 if redis_down else 200)


# --- backtests -------------------------------------------------------------------
class BacktestFilterSerializer(serializers.Serializer):
    bot = id_filter(help_text="Only runs of this bot.")
    product_id = serializers.CharField(max_length=32, required=False)


class BacktestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The bot's name or the config file.")
    bot_id = serializers.IntegerField(allow_null=True)
    product_id = serializers.CharField()
    granularity = serializers.CharField()
    source = serializers.CharField(help_text="Where the candles came from.")
    start = UtcDateTimeField()
    end = UtcDateTimeField()
    candles = serializers.IntegerField()
    starting_balance = MoneyField()
    fee_rate = MoneyField()
    slippage_rate = MoneyField()
    total_return = FiniteFloatField(allow_null=True)
    buy_and_hold_return = FiniteFloatField(allow_null=True)
    max_drawdown = FiniteFloatField(allow_null=True)
    sharpe = FiniteFloatField(allow_null=True)
    trades = serializers.IntegerField()
    created_at = UtcDateTimeField()


class BacktestDetailSerializer(BacktestSerializer):
    config = JSONObjectField(help_text="The settings that ran.")
    metrics = JSONObjectField()
    trade_list = JSONListField(help_text="Round trips: entry, exit, size, fees, P&L.")
    sweep = JSONListField(help_text="Every combination of a parameter sweep, ranked.")


class BacktestListApi(ApiView):
    @extend_schema(tags=["backtests"], parameters=[BacktestFilterSerializer], responses=BacktestSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Stored runs of ``manage.py backtest``, newest first, with their headline metrics."""
        filters = _bot_filter(validated_query(request, BacktestFilterSerializer))
        return self.paginate(backtest_list(**filters), BacktestSerializer)


class BacktestDetailApi(ApiView):
    @extend_schema(tags=["backtests"], parameters=[id_parameter("The run's id.")], responses=BacktestDetailSerializer)
    def get(self, request: Request, id: int) -> Response:
        """One run in full: settings, every metric, the round trips and a sweep's ranking."""
        return Response(BacktestDetailSerializer(get_object(backtest_list(), id)).data)
