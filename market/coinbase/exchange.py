"""Live trading on Coinbase Advanced Trade: balances, market orders, look-ups.

Orders follow DESIGN.md: each carries our own client_order_id, is sized and
checked against the product before it is sent, and is sent once. Coinbase
reports most refusals as HTTP 200 with ``success: false``; those become
``OrderRejected`` with Coinbase's reason. Anything that leaves the outcome
open becomes ``UnknownOrderOutcome`` and is settled by looking the order up
by its client_order_id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from market.coinbase import convert
from market.coinbase.client import CoinbaseRest, NotFound, build_rest_client
from market.coinbase.credentials import CredentialsError, load_credentials
from market.coinbase.market_data import MAX_CANDLES_PER_REQUEST
from market.exchange import (
    Capabilities,
    ExchangeError,
    OrderRejected,
    PermanentError,
    TemporaryError,
    UnknownOrderOutcome,
)
from market.fills import FillRejected
from market.types import Balance, ExchangeFill, ExchangeOrder, OrderStatus, Product, Side

log = logging.getLogger(__name__)

ACCOUNTS_PAGE = 250
FILLS_PAGE = 250
ORDERS_PAGE = 250
# How far back a client_order_id is looked for before we admit we cannot tell.
ORDER_LOOKUP_MAX_PAGES = 40
FEE_RATE_TTL_SECONDS = 3600.0


@dataclass(frozen=True)
class KeyPermissions:
    """What the API key may do; live trading needs both view and trade."""

    can_view: bool
    can_trade: bool
    can_transfer: bool
    portfolio_uuid: str
    portfolio_type: str


class CoinbaseExchange:
    """The ``Exchange`` port on Coinbase Advanced Trade (real money)."""

    name = "coinbase"
    capabilities = Capabilities(
        live_money=True, market_orders_by_quote=True, max_candles_per_request=MAX_CANDLES_PER_REQUEST
    )

    def __init__(self, rest: CoinbaseRest) -> None:
        if not rest.authenticated:
            raise CredentialsError(
                "live trading on Coinbase needs an API key: set COINBASE_API_KEY and COINBASE_API_SECRET, "
                "or COINBASE_KEY_FILE"
            )
        self.rest = rest
        self.client = rest.client
        self._lock = threading.Lock()
        # Order ids this process was told at placement: a look-up by client id
        # is then one request instead of a scan of the order history.
        self._order_ids: dict[str, str] = {}
        self._fee_rate: tuple[float, Decimal] | None = None

    @classmethod
    def from_settings(cls) -> CoinbaseExchange:
        credentials = load_credentials(
            api_key=settings.COINBASE_API_KEY,
            api_secret=settings.COINBASE_API_SECRET,
            key_file=settings.COINBASE_KEY_FILE,
        )
        if credentials is None:
            raise CredentialsError(
                "live orders need Coinbase credentials (to place them and to look them up): "
                "set COINBASE_API_KEY and COINBASE_API_SECRET, or COINBASE_KEY_FILE"
            )
        client = build_rest_client(
            credentials,
            base_url=settings.COINBASE_BASE_URL,
            timeout=settings.COINBASE_TIMEOUT_SECONDS,
            ca_bundle=settings.COINBASE_CA_BUNDLE,
        )
        return cls(CoinbaseRest(client))

    # --- account -------------------------------------------------------------
    def balances(self) -> dict[str, Balance]:
        """Available and held funds per currency, over every page of accounts."""
        accounts: list[dict[str, Any]] = []
        for page in self._pages("list accounts", self.client.get_accounts, limit=ACCOUNTS_PAGE):
            accounts.extend(page.get("accounts") or [])
        return convert.balances(accounts)

    def fee_rate(self) -> Decimal:
        """The account's taker rate (market orders pay taker); it moves with 30-day volume, so re-read hourly."""
        with self._lock:
            cached = self._fee_rate
        if cached is not None and time.monotonic() - cached[0] < FEE_RATE_TTL_SECONDS:
            return cached[1]
        data = self.rest.call("get transaction summary", self.client.get_transaction_summary, product_type="SPOT")
        rate = convert.dec((data.get("fee_tier") or {}).get("taker_fee_rate"), Decimal("-1"))
        if not 0 <= rate < 1:
            raise TemporaryError(f"Coinbase sent no usable taker fee rate ({data.get('fee_tier')!r})")
        with self._lock:
            self._fee_rate = (time.monotonic(), rate)
        return rate

    def key_permissions(self) -> KeyPermissions:
        data = self.rest.call("get key permissions", self.client.get_api_key_permissions)
        return KeyPermissions(
            can_view=bool(data.get("can_view")),
            can_trade=bool(data.get("can_trade")),
            can_transfer=bool(data.get("can_transfer")),
            portfolio_uuid=str(data.get("portfolio_uuid") or ""),
            portfolio_type=str(data.get("portfolio_type") or ""),
        )

    # --- orders --------------------------------------------------------------
    def place_market_order(
        self,
        *,
        client_order_id: str,
        product: Product,
        side: Side,
        quote_size: Decimal | None = None,
        base_size: Decimal | None = None,
    ) -> ExchangeOrder:
        """Send one market order (IOC); never retried, whatever happens.

        A buy is sized by quote (what to spend, fee included), a sell by base;
        sizes are rounded down to the product's increments and checked against
        its minimums first, since Coinbase rejects rather than rounds.
        """
        if not client_order_id:
            raise ValueError("client_order_id is required: it is what makes a look-up after a failure safe")
        side = Side(side)
        sizing = market_sizing(product, side, quote_size=quote_size, base_size=base_size)
        answer = self.rest.place(
            "create order",
            self.client.market_order,
            client_order_id=client_order_id,
            product_id=product.product_id,
            side=side.value,
            **sizing,
        )
        order_id = accepted_order_id(answer)
        with self._lock:
            self._order_ids[client_order_id] = order_id
        try:
            placed = self.get_order(order_id)
        except (ExchangeError, ValueError, KeyError) as exc:
            log.warning("order %s was accepted; reading it back failed (%s); it is resolved later", order_id, exc)
            placed = None
        return placed or ExchangeOrder(
            order_id=order_id,
            client_order_id=client_order_id,
            product_id=product.product_id,
            side=side,
            status=OrderStatus.OPEN,
        )

    def get_order(self, order_id: str) -> ExchangeOrder | None:
        """The order with its fills; ``None`` if Coinbase does not know the id."""
        try:
            data = self.rest.call("get order", self.client.get_order, order_id=order_id)
        except NotFound:
            return None
        return self._with_fills(data.get("order") or {})

    def get_order_by_client_id(self, client_order_id: str) -> ExchangeOrder | None:
        """The order placed with this client_order_id, or ``None`` when it surely does not exist.

        Coinbase cannot look an order up by client id, so this lists the
        account's orders, newest first, page by page, until it finds it or the
        history ends. A history too long to search raises ``TemporaryError``
        rather than claim the order is absent.
        """
        with self._lock:
            known = self._order_ids.get(client_order_id)
        if known:
            found = self.get_order(known)
            if found is not None:
                return found
        for page in self._pages(
            "list orders", self.client.list_orders, limit=ORDERS_PAGE, max_pages=ORDER_LOOKUP_MAX_PAGES
        ):
            for raw in page.get("orders") or []:
                if raw.get("client_order_id") == client_order_id:
                    with self._lock:
                        self._order_ids[client_order_id] = str(raw["order_id"])
                    return self._with_fills(raw)
        return None

    def fills(
        self,
        *,
        order_ids: Sequence[str] = (),
        product_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[ExchangeFill]:
        """Fills, oldest first, filtered by order, product and time; every page."""
        found: dict[str, ExchangeFill] = {}
        for page in self._pages(
            "list fills",
            self.client.get_fills,
            order_ids=list(order_ids) or None,
            product_ids=[product_id] if product_id else None,
            start_sequence_timestamp=_rfc3339(start),
            end_sequence_timestamp=_rfc3339(end),
            limit=FILLS_PAGE,
        ):
            for raw in page.get("fills") or []:
                item = convert.fill(raw)
                found[item.trade_id] = item
        return sorted(found.values(), key=lambda f: (f.time, f.trade_id))

    def cancel(self, order_ids: Sequence[str]) -> dict[str, bool]:
        """Cancel open orders; ``{order_id: cancelled}``. Cancelling is idempotent, so it may be retried."""
        if not order_ids:
            return {}
        data = self.rest.call("cancel orders", self.client.cancel_orders, order_ids=list(order_ids))
        out: dict[str, bool] = {}
        for result in data.get("results") or []:
            out[str(result.get("order_id"))] = bool(result.get("success"))
            if not result.get("success"):
                log.warning("Coinbase did not cancel %s: %s", result.get("order_id"), result.get("failure_reason"))
        return out

    # --- internals -----------------------------------------------------------
    def _with_fills(self, raw: dict[str, Any]) -> ExchangeOrder:
        if not raw.get("order_id"):
            raise TemporaryError("Coinbase answered an order look-up without an order")
        has_fills = convert.dec(raw.get("filled_size")) > 0 or convert.dec(raw.get("number_of_fills")) > 0
        fills = self.fills(order_ids=[str(raw["order_id"])]) if has_fills else []
        return convert.order(raw, fills)

    def _pages(self, what: str, fn, *, max_pages: int | None = None, **params: Any):
        """Yield each page of a cursor-paginated list (``has_next``/``cursor``, or just ``cursor``)."""
        cursor: str | None = None
        seen: set[str] = set()
        pages = 0
        while True:
            page = self.rest.call(what, fn, cursor=cursor, **params)
            yield page
            pages += 1
            cursor = str(page.get("cursor") or "")
            if page.get("has_next") is False or not cursor or cursor in seen:
                return
            if max_pages is not None and pages >= max_pages:
                raise TemporaryError(f"{what}: stopped after {pages} pages without reaching the end")
            seen.add(cursor)


def market_sizing(
    product: Product, side: Side, *, quote_size: Decimal | None, base_size: Decimal | None
) -> dict[str, str]:
    """``market_market_ioc`` sizes rounded down to the increments, or ``OrderRejected`` saying why not.

    Reason codes are the paper exchange's (``market.fills``), so the activity
    feed reads the same on paper and live.
    """
    pid = product.product_id
    if (quote_size is None) == (base_size is None):
        raise OrderRejected(FillRejected.INVALID_SIZE, "give exactly one of quote_size and base_size")
    for value in (quote_size, base_size):
        if value is not None and (not isinstance(value, Decimal) or not value.is_finite()):
            raise OrderRejected(FillRejected.INVALID_SIZE, f"order size must be a finite Decimal, got {value!r}")
    if not product.market_orders_allowed:
        raise OrderRejected(FillRejected.TRADING_DISABLED, f"{pid} does not accept market orders now")
    if quote_size is not None:
        if side is Side.SELL:
            raise OrderRejected(FillRejected.INVALID_SIZE, "a market SELL is sized in base (base_size)")
        size = product.round_quote(quote_size)
        _check(size, product.quote_min_size, product.quote_max_size, f"{pid}: order value", product.quote_currency)
        return {"quote_size": format(size, "f")}
    size = product.round_base(base_size)
    _check(size, product.base_min_size, product.base_max_size, f"{pid}: size", product.base_currency)
    return {"base_size": format(size, "f")}


def _check(size: Decimal, minimum: Decimal, maximum: Decimal, what: str, currency: str) -> None:
    if size <= 0 or size < minimum:
        raise OrderRejected(
            FillRejected.BELOW_MIN_SIZE,
            f"{what} {size:f} {currency} (rounded down to the increment) is below the minimum of {minimum:f}",
        )
    if maximum > 0 and size > maximum:
        raise OrderRejected(
            FillRejected.ABOVE_MAX_SIZE, f"{what} {size:f} {currency} is above the maximum of {maximum:f}"
        )


def accepted_order_id(answer: dict[str, Any]) -> str:
    """The order id of an accepted order, or the error that says what happened instead.

    ``success: false`` (sent with HTTP 200) is a rejection. ``success: true``
    is an acceptance even when the legacy ``failure_reason`` reads
    UNKNOWN_FAILURE_REASON: that is the enum's "no failure" value, seen on
    orders that were placed and filled (coinbase-advanced-py #49). The id is
    read from ``success_response`` only; the top-level ``order_id`` was removed
    in 2024. An acceptance without an id leaves the outcome unknown.
    """
    if answer.get("success") is False:
        error = answer.get("error_response") or {}
        message = str(error.get("message") or error.get("error_details") or "")
        raise OrderRejected(convert.reject_reason(error), message)
    if answer.get("success") is True:
        order_id = str((answer.get("success_response") or {}).get("order_id") or "")
        if order_id:
            return order_id
    raise UnknownOrderOutcome(f"Coinbase answered an order without saying whether it was placed: {sorted(answer)}")


def _rfc3339(t: datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        raise PermanentError(f"naive datetime {t.isoformat()} in a fill query; pass UTC")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
