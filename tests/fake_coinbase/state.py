"""What the fake Coinbase knows: its market, the account, orders and fills.

Responses take their shapes from Coinbase's API reference and the SDK's own
type definitions: every number a string, candles newest first, cursor pages,
rejections as HTTP 200 with ``success: false``. Market data comes from the
project's ``SimulatedMarket`` (fixed seed) on a clock the test controls, and
market orders fill at once against its best bid or ask through
``market.fills``, paying the account's taker fee.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from market.clock import Clock
from market.fills import FEE_PLACES, FillRejected, fill_market_order
from market.simulated import SimulatedMarket
from market.types import Granularity, Product, Side, UnknownProduct, quantize_up
from tests.fake_coinbase.records import (
    CANDLES_TOO_MANY,
    MAX_CANDLES,
    REJECTION_MESSAGES,
    ApiError,
    FakeFill,
    FakeOrder,
    cursor_at,
    iso,
    offset_of,
    s,
)


class CoinbaseState:
    """The exchange behind the fake: thread-safe, since the server is threaded."""

    def __init__(
        self,
        market: SimulatedMarket,
        clock: Clock,
        *,
        balances: dict[str, Decimal] | None = None,
        taker_fee_rate: Decimal = Decimal("0.006"),
        maker_fee_rate: Decimal = Decimal("0.004"),
    ) -> None:
        self.lock = threading.RLock()
        self.market = market
        self.clock = clock
        self.taker_fee_rate = taker_fee_rate
        self.maker_fee_rate = maker_fee_rate
        self.available: dict[str, Decimal] = {p.base_currency: Decimal("0") for p in market.products()}
        self.available.update({"USD": Decimal("0"), "USDC": Decimal("0")})
        self.available.update(balances or {})
        self.held: dict[str, Decimal] = {}
        self.orders: list[FakeOrder] = []
        self.fills_per_order = 1  # split each fill into this many pieces
        self.page_cap = 250  # the most items any list answers with per page
        self.product_overrides: dict[str, dict[str, Any]] = {}
        self.permissions = {"can_view": True, "can_trade": True, "can_transfer": False}
        self._ids = 0

    # --- market data ---------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def _product(self, product_id: str) -> Product:
        try:
            return self.market.product(product_id)
        except UnknownProduct:
            raise ApiError(404, "NOT_FOUND", f"ProductID {product_id} could not be found") from None

    def product_json(self, product_id: str) -> dict[str, Any]:
        p = self._product(product_id)
        price = self.market.ticker(product_id).price
        data = {
            "product_id": p.product_id,
            "price": s(price),
            "price_percentage_change_24h": "0.51",
            "volume_24h": "12345.6789",
            "volume_percentage_change_24h": "-3.2",
            "base_increment": s(p.base_increment),
            "quote_increment": s(p.quote_increment),
            "quote_min_size": s(p.quote_min_size),
            "quote_max_size": s(p.quote_max_size),
            "base_min_size": s(p.base_min_size),
            "base_max_size": s(p.base_max_size),
            "base_name": p.base_currency,
            "quote_name": "US Dollar",
            "watched": False,
            "is_disabled": False,
            "new": False,
            "status": "online",
            "cancel_only": False,
            "limit_only": False,
            "post_only": False,
            "trading_disabled": False,
            "auction_mode": False,
            "product_type": "SPOT",
            "quote_currency_id": p.quote_currency,
            "base_currency_id": p.base_currency,
            "fcm_trading_session_details": None,
            "mid_market_price": "",
            "alias": "",
            "alias_to": [],
            "base_display_symbol": p.base_currency,
            "quote_display_symbol": p.quote_currency,
            "view_only": False,
            "price_increment": s(p.price_increment),
            "display_name": p.product_id,
            "product_venue": "CBE",
            "approximate_quote_24h_volume": "1172927411.33",
        }
        data.update(self.product_overrides.get(product_id, {}))
        return data

    def products_json(self, *, limit: int | None, offset: int, product_type: str | None) -> dict[str, Any]:
        ids = [p.product_id for p in self.market.products()]
        items = [self.product_json(pid) for pid in ids]
        if product_type:
            items = [p for p in items if p["product_type"] == product_type]
        page = items[offset : offset + min(limit or len(items), self.page_cap)]
        return {"products": page, "num_products": len(items)}

    def candles_json(self, product_id: str, start: int, end: int, granularity: str) -> dict[str, Any]:
        self._product(product_id)
        try:
            g = Granularity[granularity]
        except KeyError:
            raise ApiError(400, "INVALID_ARGUMENT", f"granularity {granularity!r} is not valid") from None
        seconds = g.seconds
        if end < start:
            raise ApiError(400, "INVALID_ARGUMENT", "start must be before end")
        if (end - start) // seconds + 1 > MAX_CANDLES:
            raise ApiError(400, "INVALID_ARGUMENT", CANDLES_TOO_MANY)
        now = self.now()
        series = self.market.candles(
            product_id, g, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end + seconds, UTC)
        )
        rows = [
            {
                "start": str(int(series.time[i])),
                "low": repr(float(series.low[i])),
                "high": repr(float(series.high[i])),
                "open": repr(float(series.open[i])),
                "close": repr(float(series.close[i])),
                "volume": repr(float(series.volume[i])),
            }
            for i in range(len(series))
        ]
        # Coinbase also sends the candle still forming.
        forming = int(now.timestamp()) // seconds * seconds
        if start <= forming <= end and not any(r["start"] == str(forming) for r in rows):
            first = float(self.market.price_at(product_id, datetime.fromtimestamp(forming, UTC)))
            last = float(self.market.price_at(product_id, now))
            rows.append(
                {
                    "start": str(forming),
                    "low": repr(min(first, last)),
                    "high": repr(max(first, last)),
                    "open": repr(first),
                    "close": repr(last),
                    "volume": "0.5",
                }
            )
        rows.sort(key=lambda r: -int(r["start"]))
        return {"candles": rows}

    def ticker_json(self, product_id: str, limit: int) -> dict[str, Any]:
        self._product(product_id)
        t = self.market.ticker(product_id)
        trades = [
            {
                "trade_id": str(90_000_000 + i),
                "product_id": product_id,
                "price": s(t.price),
                "size": "0.0125",
                "time": iso(t.time),
                "side": "BUY" if i % 2 else "SELL",
                "bid": "",
                "ask": "",
                "exchange": "CBE",
            }
            for i in range(max(limit, 1))
        ]
        return {"trades": trades, "best_bid": s(t.bid), "best_ask": s(t.ask)}

    # --- account -------------------------------------------------------------
    def accounts_json(self, *, limit: int | None, cursor: str | None) -> dict[str, Any]:
        with self.lock:
            currencies = sorted(self.available)
            start = offset_of(cursor)
            size = min(limit or 49, self.page_cap)
            page = currencies[start : start + size]
            accounts = [
                {
                    "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-coinbase/{c}")),
                    "name": f"{c} Wallet",
                    "currency": c,
                    "available_balance": {"value": s(self.available[c]), "currency": c},
                    "default": True,
                    "active": True,
                    "created_at": "2024-01-31T20:03:24.011Z",
                    "updated_at": "2024-01-31T20:03:24.011Z",
                    "deleted_at": None,
                    "type": "ACCOUNT_TYPE_FIAT" if c in ("USD", "EUR") else "ACCOUNT_TYPE_CRYPTO",
                    "ready": True,
                    "hold": {"value": s(self.held.get(c, Decimal("0"))), "currency": c},
                    "retail_portfolio_id": "fake-portfolio-0001",
                    "platform": "ACCOUNT_PLATFORM_CONSUMER",
                }
                for c in page
            ]
            more = start + size < len(currencies)
            return {
                "accounts": accounts,
                "has_next": more,
                "cursor": cursor_at(start + size) if more else "",
                "size": len(accounts),
            }

    def transaction_summary_json(self) -> dict[str, Any]:
        return {
            "total_volume": 0,
            "total_fees": 0,
            "fee_tier": {
                "pricing_tier": "Advanced 1",
                "usd_from": "0",
                "usd_to": "10000",
                "taker_fee_rate": s(self.taker_fee_rate),
                "maker_fee_rate": s(self.maker_fee_rate),
                "aop_from": "",
                "aop_to": "",
            },
            "margin_rate": None,
            "goods_and_services_tax": None,
            "advanced_trade_only_volume": 0,
            "advanced_trade_only_fees": 0,
            "coinbase_pro_volume": 0,
            "coinbase_pro_fees": 0,
            "total_balance": "",
            "has_promo_fee": False,
        }

    def key_permissions_json(self) -> dict[str, Any]:
        return {**self.permissions, "portfolio_uuid": "fake-portfolio-0001", "portfolio_type": "DEFAULT"}

    # --- orders --------------------------------------------------------------
    def _next_id(self) -> str:
        self._ids += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-coinbase/{self._ids}"))

    def _next_seq(self) -> int:
        self._ids += 1
        return self._ids

    def create_order(self, body: dict[str, Any], faults: dict[str, Any]) -> dict[str, Any]:
        """Coinbase's answer to POST /orders (always HTTP 200)."""
        with self.lock:
            client_order_id = str(body.get("client_order_id") or "")
            existing = next((o for o in self.orders if o.client_order_id == client_order_id), None)
            if existing is not None:
                # "If the ID provided is not unique, the order will not be created and the
                # order corresponding with that ID will be returned instead."
                return self._accepted(existing, legacy=False)
            product_id = str(body.get("product_id") or "")
            side_name = str(body.get("side") or "")
            config = body.get("order_configuration") or {}
            if "reject" in faults:
                return self._rejected(faults["reject"], body)
            if side_name not in ("BUY", "SELL"):
                return self._rejected("INVALID_SIDE", body)
            try:
                product = self.market.product(product_id)
            except UnknownProduct:
                return self._rejected("INVALID_PRODUCT_ID", body)
            overrides = self.product_overrides.get(product_id, {})
            if overrides.get("trading_disabled") or overrides.get("cancel_only") or overrides.get("limit_only"):
                return self._rejected("ORDER_ENTRY_DISABLED", body)
            if list(config) != ["market_market_ioc"]:
                return self._rejected("UNSUPPORTED_ORDER_CONFIGURATION", body)
            side = Side(side_name)
            ioc = config["market_market_ioc"]
            quote = Decimal(ioc["quote_size"]) if "quote_size" in ioc else None
            base = Decimal(ioc["base_size"]) if "base_size" in ioc else None
            if (quote is None) == (base is None):
                return self._rejected("UNSUPPORTED_ORDER_CONFIGURATION", body)
            if quote is not None and quote % product.quote_increment:
                return self._rejected("PREVIEW_INVALID_QUOTE_SIZE_PRECISION", body)
            if base is not None and base % product.base_increment:
                return self._rejected("INVALID_SIZE_PRECISION", body)
            if quote is not None and quote < product.quote_min_size:
                return self._rejected("PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL", body)
            if base is not None and base < product.base_min_size:
                return self._rejected("PREVIEW_INVALID_BASE_SIZE_TOO_SMALL", body)
            order = FakeOrder(self._next_id(), client_order_id, product_id, side, config, self.now())
            order.seq = self._next_seq()
            if "open" in faults:
                return self._rest(order, product, quote, base)
            ticker = self.market.ticker(product_id)
            try:
                fill = fill_market_order(
                    product=product,
                    side=side,
                    bid=ticker.bid,
                    ask=ticker.ask,
                    fee_rate=self.taker_fee_rate,
                    slippage_rate=Decimal("0"),
                    quote_size=quote,
                    base_size=base,
                )
            except FillRejected as exc:
                reason = {
                    FillRejected.BELOW_MIN_SIZE: "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
                    FillRejected.ABOVE_MAX_SIZE: "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE",
                }.get(exc.reason, "UNKNOWN_FAILURE_REASON")
                return self._rejected(reason, body)
            filled_base = fill.base_size
            if "partial" in faults:
                filled_base = product.round_base(fill.base_size * Decimal(str(faults["partial"])))
                order.status = "CANCELLED"
            value = filled_base * fill.price
            fee = quantize_up(value * self.taker_fee_rate, FEE_PLACES) if filled_base != fill.base_size else fill.fee
            pay_currency, pay = (
                (product.quote_currency, value + fee) if side is Side.BUY else (product.base_currency, filled_base)
            )
            if self.available.get(pay_currency, Decimal("0")) < pay:
                return self._rejected("INSUFFICIENT_FUND", body)
            if side is Side.BUY:
                self.available[product.quote_currency] -= value + fee
                self.available[product.base_currency] = (
                    self.available.get(product.base_currency, Decimal("0")) + filled_base
                )
            else:
                self.available[product.base_currency] -= filled_base
                self.available[product.quote_currency] = (
                    self.available.get(product.quote_currency, Decimal("0")) + value - fee
                )
            order.fills = self._split(order, product, fill.price, filled_base, fee, int(faults.get("fills-lag") or 0))
            self.orders.append(order)
            return self._accepted(order, legacy="legacy-success" in faults)

    def _split(
        self, order: FakeOrder, product: Product, price: Decimal, base: Decimal, fee: Decimal, hidden: int
    ) -> list[FakeFill]:
        """The fill as ``fills_per_order`` pieces; their sizes and commissions add up exactly."""
        if base <= 0:
            return []
        pieces = max(1, min(self.fills_per_order, int(base / product.base_increment)))
        sizes = [product.round_base(base / pieces)] * (pieces - 1)
        sizes.append(base - sum(sizes, Decimal("0")))
        fees = [quantize_up(size * price * self.taker_fee_rate, FEE_PLACES) for size in sizes[:-1]]
        fees.append(fee - sum(fees, Decimal("0")))
        return [
            FakeFill(
                entry_id=self._next_id(),
                trade_id=self._next_id(),
                order_id=order.order_id,
                product_id=order.product_id,
                side=order.side,
                price=price,
                base=size,
                commission=commission,
                time=order.created + timedelta(milliseconds=i),
                size_in_quote=order.size_in_quote,
                seq=self._next_seq(),
                hidden_for=hidden,
            )
            for i, (size, commission) in enumerate(zip(sizes, fees))
        ]

    def _rest(self, order: FakeOrder, product: Product, quote: Decimal | None, base: Decimal | None) -> dict[str, Any]:
        currency, amount = (product.quote_currency, quote) if order.side is Side.BUY else (product.base_currency, base)
        amount = amount or Decimal("0")
        if self.available.get(currency, Decimal("0")) < amount:
            return self._rejected("INSUFFICIENT_FUND", {"order_configuration": order.configuration})
        self.available[currency] -= amount
        self.held[currency] = self.held.get(currency, Decimal("0")) + amount
        order.status, order.hold = "OPEN", amount
        self.orders.append(order)
        return self._accepted(order, legacy=False)

    def _accepted(self, order: FakeOrder, *, legacy: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "success": True,
            "success_response": {
                "order_id": order.order_id,
                "product_id": order.product_id,
                "side": order.side.value,
                "client_order_id": order.client_order_id,
                "attached_order_id": "",
            },
            "order_configuration": order.configuration,
        }
        if legacy:
            answer.update(failure_reason="UNKNOWN_FAILURE_REASON", order_id=f"legacy-{order.order_id[:8]}")
        return answer

    def _rejected(self, reason: str, body: dict[str, Any]) -> dict[str, Any]:
        product = self.market.product(body["product_id"]) if body.get("product_id") in self._product_ids() else None
        message = REJECTION_MESSAGES.get(reason, reason.replace("_", " ").capitalize()).format(
            base_min=s(product.base_min_size) if product else "",
            base_max=s(product.base_max_size) if product else "",
            quote_min=s(product.quote_min_size) if product else "",
        )
        preview = reason.startswith("PREVIEW_")
        return {
            "success": False,
            "error_response": {
                "error": "UNKNOWN_FAILURE_REASON" if preview else reason,
                "message": message,
                "error_details": message,
                "preview_failure_reason": reason if preview else "UNKNOWN_PREVIEW_FAILURE_REASON",
                "new_order_failure_reason": "UNKNOWN_FAILURE_REASON" if preview else reason,
            },
            "order_configuration": body.get("order_configuration") or {},
        }

    def _product_ids(self) -> set[str]:
        return {p.product_id for p in self.market.products()}

    def order_json(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            for order in self.orders:
                if order.order_id == order_id:
                    return {"order": order.json()}
        raise ApiError(404, "NOT_FOUND", "order with this orderID was not found")

    def orders_json(self, q: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            found = sorted(self.orders, key=lambda o: (o.created, o.seq), reverse=True)  # newest first
            if q.get("order_ids"):
                found = [o for o in found if o.order_id in q["order_ids"]]
            if q.get("product_ids"):
                found = [o for o in found if o.product_id in q["product_ids"]]
            if q.get("order_status"):
                found = [o for o in found if o.status in q["order_status"]]
            if q.get("start_date"):
                since = _time(q["start_date"][0])
                found = [o for o in found if o.created >= since]
            start = offset_of(_first(q, "cursor"))
            size = min(int(_first(q, "limit") or 100), self.page_cap)
            page = found[start : start + size]
            more = start + size < len(found)
            return {
                "orders": [o.json() for o in page],
                "sequence": "0",
                "has_next": more,
                "cursor": cursor_at(start + size) if more else "",
            }

    def fills_json(self, q: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            fills = [f for o in self.orders for f in o.fills]
            fills.sort(key=lambda f: (f.time, f.seq), reverse=True)  # newest first
            if q.get("order_ids"):
                fills = [f for f in fills if f.order_id in q["order_ids"]]
            if q.get("product_ids"):
                fills = [f for f in fills if f.product_id in q["product_ids"]]
            if q.get("start_sequence_timestamp"):
                since = _time(q["start_sequence_timestamp"][0])
                fills = [f for f in fills if f.time >= since]
            if q.get("end_sequence_timestamp"):
                until = _time(q["end_sequence_timestamp"][0])
                fills = [f for f in fills if f.time < until]
            visible = []
            for f in fills:
                if f.hidden_for > 0:
                    f.hidden_for -= 1
                else:
                    visible.append(f)
            start = offset_of(_first(q, "cursor"))
            size = min(int(_first(q, "limit") or 100), self.page_cap)
            page = visible[start : start + size]
            more = start + size < len(visible)
            return {"fills": [f.json() for f in page], "cursor": cursor_at(start + size) if more else ""}

    def cancel_json(self, order_ids: list[str]) -> dict[str, Any]:
        results = []
        with self.lock:
            for order_id in order_ids:
                order = next((o for o in self.orders if o.order_id == order_id), None)
                if order is None or order.status != "OPEN":
                    results.append({"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": order_id})
                    continue
                product = self.market.product(order.product_id)
                currency = product.quote_currency if order.side is Side.BUY else product.base_currency
                self.held[currency] -= order.hold
                self.available[currency] += order.hold
                order.status, order.hold = "CANCELLED", Decimal("0")
                results.append(
                    {"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": order_id}
                )
        return {"results": results}

    # --- for assertions ----------------------------------------------------------
    def all_fills(self) -> list[FakeFill]:
        with self.lock:
            return [f for o in self.orders for f in o.fills]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _first(q: dict[str, list[str]], key: str) -> str | None:
    values = q.get(key)
    return values[0] if values else None
