"""The paper exchange: real prices, simulated fills, a wallet in the database.

It sits behind the same ``Exchange`` port as Coinbase, so the execution engine
has no paper branch. Fills come from ``market.fills``, the one fill model the
backtester uses too. Placing an order twice with one client_order_id returns
the first order, as Coinbase does.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction

from market.exchange import Capabilities, MarketData, OrderRejected
from market.fills import FillRejected, fill_market_order
from market.models import PaperBalance, PaperOrder
from market.types import Balance, ExchangeFill, ExchangeOrder, OrderStatus, Product, Side

INSUFFICIENT_FUND = "INSUFFICIENT_FUND"


class PaperExchange:
    name = "paper"
    capabilities = Capabilities(live_money=False)

    def __init__(self, market: MarketData, *, fee_rate: Decimal, slippage_rate: Decimal) -> None:
        self.market = market
        self._fee_rate = fee_rate
        self.slippage_rate = slippage_rate

    def fee_rate(self) -> Decimal:
        return self._fee_rate

    def balances(self) -> dict[str, Balance]:
        return {b.currency: Balance(b.currency, b.available) for b in PaperBalance.objects.all()}

    def get_order_by_client_id(self, client_order_id: str) -> ExchangeOrder | None:
        row = PaperOrder.objects.filter(client_order_id=client_order_id).first()
        return _to_exchange_order(row) if row else None

    def place_market_order(
        self,
        *,
        client_order_id: str,
        product: Product,
        side: Side,
        quote_size: Decimal | None = None,
        base_size: Decimal | None = None,
    ) -> ExchangeOrder:
        if not client_order_id:
            raise ValueError("client_order_id is required: it is what makes a retry safe")
        row = self._fill(client_order_id, product, side, quote_size, base_size)
        if row.status == OrderStatus.REJECTED:
            raise OrderRejected(row.reject_reason, row.reject_message)
        return _to_exchange_order(row)

    @transaction.atomic
    def _fill(
        self, client_order_id: str, product: Product, side: Side, quote_size: Decimal | None, base_size: Decimal | None
    ) -> PaperOrder:
        existing = PaperOrder.objects.select_for_update().filter(client_order_id=client_order_id).first()
        if existing is not None:
            return existing
        now = self.market.now()
        order = PaperOrder(
            order_id=uuid.uuid4().hex,
            client_order_id=client_order_id,
            product_id=product.product_id,
            side=side.value,
            created_at=now,
            fee_currency=product.quote_currency,
        )
        ticker = self.market.ticker(product.product_id)
        try:
            fill = fill_market_order(
                product=product,
                side=side,
                bid=ticker.bid,
                ask=ticker.ask,
                fee_rate=self._fee_rate,
                slippage_rate=self.slippage_rate,
                quote_size=quote_size,
                base_size=base_size,
            )
        except FillRejected as exc:
            return _reject(order, exc.reason, str(exc))
        quote = _wallet(product.quote_currency)
        base = _wallet(product.base_currency)
        if side is Side.BUY:
            if quote.available < fill.total:
                return _reject(
                    order,
                    INSUFFICIENT_FUND,
                    f"needs {fill.total} {product.quote_currency}, {quote.available} available",
                )
            quote.available -= fill.total
            base.available += fill.base_size
        else:
            if base.available < fill.base_size:
                return _reject(
                    order,
                    INSUFFICIENT_FUND,
                    f"needs {fill.base_size} {product.base_currency}, {base.available} available",
                )
            base.available -= fill.base_size
            quote.available += fill.total
        quote.save(update_fields=["available", "updated_at"])
        base.save(update_fields=["available", "updated_at"])
        order.status = OrderStatus.FILLED.value
        order.price = fill.price
        order.base_size = fill.base_size
        order.fee = fill.fee
        order.save()
        return order


def _wallet(currency: str) -> PaperBalance:
    PaperBalance.objects.get_or_create(currency=currency)
    return PaperBalance.objects.select_for_update().get(currency=currency)


def _reject(order: PaperOrder, reason: str, message: str) -> PaperOrder:
    order.status = OrderStatus.REJECTED.value
    order.reject_reason = reason
    order.reject_message = message[:500]
    order.save()
    return order


def _to_exchange_order(row: PaperOrder) -> ExchangeOrder:
    status = OrderStatus(row.status)
    fills: tuple[ExchangeFill, ...] = ()
    if status is OrderStatus.FILLED:
        fills = (
            ExchangeFill(
                trade_id=f"{row.order_id}-1",
                order_id=row.order_id,
                product_id=row.product_id,
                side=Side(row.side),
                price=row.price,
                size=row.base_size,
                fee=row.fee,
                fee_currency=row.fee_currency,
                time=row.created_at,
            ),
        )
    return ExchangeOrder(
        order_id=row.order_id,
        client_order_id=row.client_order_id,
        product_id=row.product_id,
        side=Side(row.side),
        status=status,
        filled_size=row.base_size if fills else Decimal("0"),
        average_price=row.price if fills else None,
        fees=row.fee if fills else Decimal("0"),
        reject_reason=row.reject_reason,
        fills=fills,
    )


@transaction.atomic
def paper_deposit(currency: str, amount: Decimal) -> PaperBalance:
    """Add funds to the paper wallet (the demo starts with 1,000 USD)."""
    if amount <= 0:
        raise ValueError("a deposit must be positive")
    wallet = _wallet(currency)
    wallet.available += amount
    wallet.save(update_fields=["available", "updated_at"])
    return wallet
