"""Market over the API: products, tickers, candles, accounts, the cache, the stream.

Every market read goes through ``get_market_data()``, the cached market the
bots read too, so the API never adds calls to the exchange beyond what the
cache lets through.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from autotrader.api.base import (
    MARKET_ERRORS,
    ApiView,
    MoneyField,
    RedactedCharField,
    UtcDateTimeField,
    validated_query,
)
from market.cache import CachedMarketData
from market.selectors import MAX_CANDLES, market_candles, market_data_health
from market.services import get_exchange, get_market_data
from market.stream import stream_set_enabled, stream_status
from market.types import Candles, Granularity, Product, Ticker, UnknownProduct
from trading.models import Order

# Pairs are BASE-QUOTE (BTC-USD); Coinbase also lists longer ids such as BTC-PERP-INTX.
PRODUCT_ID = OpenApiParameter(
    "product_id",
    str,
    OpenApiParameter.PATH,
    description="A trading pair, e.g. BTC-USD.",
    pattern=r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)+$",
)
PAIR_PATTERN = re.compile(r"^[A-Z0-9]{1,20}(-[A-Z0-9]{1,20}){1,3}$")


def _listed(market: CachedMarketData, product_id: str) -> Product:
    """The pair, if the market lists it: a 404 before any cache key or upstream call is spent on it."""
    pair = product_id.strip().upper()
    if PAIR_PATTERN.match(pair):
        try:
            return market.product(pair)
        except UnknownProduct:
            pass
    raise NotFound(f"No trading pair {pair[:40]!r} on this market; see /api/v1/market/products.")


# --- products and tickers ------------------------------------------------------
class ProductSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    base_currency = serializers.CharField()
    quote_currency = serializers.CharField()
    base_increment = MoneyField()
    quote_increment = MoneyField()
    price_increment = MoneyField()
    base_min_size = MoneyField()
    base_max_size = MoneyField()
    quote_min_size = MoneyField()
    quote_max_size = MoneyField()
    trading_disabled = serializers.BooleanField()
    cancel_only = serializers.BooleanField()
    limit_only = serializers.BooleanField()
    post_only = serializers.BooleanField()
    market_orders_allowed = serializers.BooleanField(help_text="What the bots need: plain market orders.")


class TickerSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    bid = MoneyField()
    ask = MoneyField()
    price = MoneyField(help_text="Last trade (or mid).")
    mid = MoneyField()
    time = UtcDateTimeField()
    stale = serializers.BooleanField(help_text="Served from the cache while the exchange is backed off.")


class ProductListApi(ApiView):
    api_errors = MARKET_ERRORS

    @extend_schema(tags=["market"], responses=ProductSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The pairs the market lists, with the increments and minimums orders must respect."""
        products: list[Product] = sorted(get_market_data().products(), key=lambda p: p.product_id)
        return self.paginate(products, ProductSerializer)


class TickerApi(ApiView):
    api_errors = MARKET_ERRORS

    @extend_schema(tags=["market"], parameters=[PRODUCT_ID], responses=TickerSerializer)
    def get(self, request: Request, product_id: str) -> Response:
        """Best bid and ask now (through the cache)."""
        market = get_market_data()
        ticker: Ticker = market.ticker(_listed(market, product_id).product_id)
        data = {**asdict(ticker), "mid": ticker.mid, "stale": bool(getattr(ticker, "stale", False))}
        return Response(TickerSerializer(data).data)


# --- candles -------------------------------------------------------------------
class CandleFilterSerializer(serializers.Serializer):
    granularity = serializers.ChoiceField(choices=[g.short for g in Granularity], default="5m")
    start = serializers.DateTimeField(required=False, help_text="From this open time (inclusive), ISO 8601.")
    end = serializers.DateTimeField(required=False, help_text="Until this time (exclusive); default now.")
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_CANDLES, default=300, help_text="At most this many, the newest."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "start" in attrs and "end" in attrs and attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["must be after start"]})
        attrs["granularity"] = Granularity.parse(attrs["granularity"])
        return attrs


class CandleSerializer(serializers.Serializer):
    time = UtcDateTimeField(help_text="Open time.")
    open = MoneyField()
    high = MoneyField()
    low = MoneyField()
    close = MoneyField()
    volume = MoneyField(help_text="Base units.")


class CandlesSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    granularity = serializers.CharField()
    candles = CandleSerializer(many=True, help_text="Closed candles, oldest first.")


def _quantize(value: float, step: Decimal) -> Decimal:
    return Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_EVEN)


def _candle_rows(candles: Candles, product: Product) -> list[dict[str, Any]]:
    price, size = product.price_increment, product.base_increment
    return [
        {
            "time": datetime.fromtimestamp(int(candles.time[i]), tz=UTC),
            "open": _quantize(candles.open[i], price),
            "high": _quantize(candles.high[i], price),
            "low": _quantize(candles.low[i], price),
            "close": _quantize(candles.close[i], price),
            "volume": _quantize(candles.volume[i], size),
        }
        for i in range(len(candles))
    ]


class CandlesApi(ApiView):
    api_errors = MARKET_ERRORS

    @extend_schema(tags=["market"], parameters=[PRODUCT_ID, CandleFilterSerializer], responses=CandlesSerializer)
    def get(self, request: Request, product_id: str) -> Response:
        """Closed OHLCV candles, oldest first: the newest ``limit`` of [start, end)."""
        query = validated_query(request, CandleFilterSerializer)
        market = get_market_data()
        product = _listed(market, product_id)
        candles = market_candles(market=market, product_id=product.product_id, **query)
        data = {
            "product_id": product.product_id,
            "granularity": query["granularity"].short,
            "candles": _candle_rows(candles, product),
        }
        return Response(CandlesSerializer(data).data)


# --- accounts --------------------------------------------------------------------
class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    available = MoneyField()
    hold = MoneyField()


class AccountsSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=Order.Mode.choices, help_text="TRADING_MODE; paper: the paper wallet.")
    balances = BalanceSerializer(many=True)


class AccountsApi(ApiView):
    api_errors = MARKET_ERRORS

    @extend_schema(tags=["market"], responses=AccountsSerializer)
    def get(self, request: Request) -> Response:
        """Balances per currency: the paper wallet in paper mode, the exchange account in live mode."""
        mode = settings.TRADING_MODE
        balances = sorted(get_exchange(live=mode == "live").balances().values(), key=lambda b: b.currency)
        return Response(AccountsSerializer({"mode": mode, "balances": balances}).data)


# --- the market-data cache ----------------------------------------------------------
class CacheStatsSerializer(serializers.Serializer):
    """The cache's counters, shared by every process (totals since the last reset)."""

    source = serializers.CharField(help_text="Where uncached reads go: simulated or coinbase.")
    ttl_seconds = serializers.FloatField()
    hit_rate = serializers.FloatField(help_text="(hits + stale served) / reads.")
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    stale_served = serializers.IntegerField()
    upstream_calls = serializers.IntegerField()
    rate_limited = serializers.IntegerField(help_text="429s and local budget refusals.")
    errors = serializers.IntegerField()
    backoffs = serializers.IntegerField(required=False)
    backing_off = serializers.BooleanField(required=False)
    backoff_seconds_left = serializers.FloatField(required=False)
    consecutive_failures = serializers.IntegerField(required=False)
    rate_limit_per_second = serializers.IntegerField(required=False, allow_null=True)
    rate_limit_used_this_second = serializers.IntegerField(required=False)
    upstream_per_minute = serializers.FloatField(allow_null=True, help_text="Over the last minutes; null: unknown yet.")
    rate_limited_per_minute = serializers.FloatField(allow_null=True)


class CacheStatsApi(ApiView):
    @extend_schema(tags=["market"], responses=CacheStatsSerializer)
    def get(self, request: Request) -> Response:
        """Hit rate, upstream calls, rate-limit and back-off state of the market-data cache."""
        market = get_market_data()
        health = market_data_health(market=market)
        data = {
            **health.stats,
            "source": health.source,
            "ttl_seconds": market.ttl,
            "upstream_per_minute": health.upstream_per_minute,
            "rate_limited_per_minute": health.rate_limited_per_minute,
        }
        return Response(CacheStatsSerializer(data).data)


# --- the market stream ----------------------------------------------------------------
class StreamSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Whether the stream process is asked to run.")
    process_alive = serializers.BooleanField()
    process = serializers.CharField(allow_null=True)
    last_heartbeat = UtcDateTimeField(allow_null=True)
    connected = serializers.BooleanField()
    source = serializers.CharField(allow_null=True)
    products = serializers.ListField(child=serializers.CharField())
    last_message_at = UtcDateTimeField(allow_null=True)
    messages = serializers.IntegerField()
    reconnects = serializers.IntegerField()
    last_error = RedactedCharField(allow_blank=True)


class StreamStartApi(ApiView):
    @extend_schema(tags=["market"], request=None, responses=StreamSerializer)
    def post(self, request: Request) -> Response:
        """Ask the stream process (``manage.py market_stream``) to connect; it obeys within seconds."""
        stream_set_enabled(enabled=True)
        return Response(StreamSerializer(stream_status()).data)


class StreamStopApi(ApiView):
    @extend_schema(tags=["market"], request=None, responses=StreamSerializer)
    def post(self, request: Request) -> Response:
        """Ask the stream process to disconnect and idle; the bots keep reading through the cache."""
        stream_set_enabled(enabled=False)
        return Response(StreamSerializer(stream_status()).data)


class StreamStatusApi(ApiView):
    @extend_schema(tags=["market"], responses=StreamSerializer)
    def get(self, request: Request) -> Response:
        """Whether the stream should run, whether its process is alive and connected, its counters."""
        return Response(StreamSerializer(stream_status()).data)
