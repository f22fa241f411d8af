"""Coinbase market data from the public endpoints: no API key needed.

Paper trading on live prices (MARKET_DATA=coinbase, TRADING_MODE=paper) runs
on these alone, so a missing or broken key never stops it. Every read goes
through ``market.cache`` in front of this class; this class only talks to
Coinbase and converts what comes back.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.conf import settings

from market.coinbase import convert
from market.coinbase.client import CoinbaseRest, NotFound, build_rest_client
from market.exchange import Capabilities, TemporaryError
from market.types import Candles, Granularity, Product, Ticker, UnknownProduct

MAX_CANDLES_PER_REQUEST = 350
# Coinbase's refusal reads "should be less than 350"; asking for 349 stays
# inside whichever way it counts the candles between start and end.
CANDLES_PER_PAGE = MAX_CANDLES_PER_REQUEST - 1


class CoinbaseMarketData:
    """The ``MarketData`` port on Coinbase Advanced Trade's public endpoints."""

    name = "coinbase"
    remote = True  # the cache spends the shared request budget on every call
    capabilities = Capabilities(live_money=False, max_candles_per_request=MAX_CANDLES_PER_REQUEST)

    def __init__(self, rest: CoinbaseRest) -> None:
        self.rest = rest
        self.client = rest.client

    @classmethod
    def from_settings(cls) -> CoinbaseMarketData:
        """Public data needs no credentials, so none are loaded (a bad key cannot break paper trading)."""
        client = build_rest_client(
            None,
            base_url=settings.COINBASE_BASE_URL,
            timeout=settings.COINBASE_TIMEOUT_SECONDS,
            ca_bundle=settings.COINBASE_CA_BUNDLE,
        )
        return cls(CoinbaseRest(client))

    def now(self) -> datetime:
        return datetime.now(UTC)

    def products(self) -> list[Product]:
        """Every spot product, with increments, minimums and trading flags."""
        found: list[dict] = []
        while True:
            page = self.rest.call(
                "list products",
                self.client.get_public_products,
                product_type="SPOT",
                offset=len(found) or None,
            )
            batch = page.get("products") or []
            found.extend(batch)
            total = int(page.get("num_products") or 0)
            if not batch or len(found) >= total:
                break
        return [convert.product(p) for p in found if str(p.get("product_type") or "SPOT") == "SPOT"]

    def product(self, product_id: str) -> Product:
        try:
            data = self.rest.call("get product", self.client.get_public_product, product_id=product_id)
        except NotFound:
            raise UnknownProduct(product_id) from None
        return convert.product(data)

    def candles(self, product_id: str, granularity: Granularity, start: datetime, end: datetime) -> Candles:
        """Complete candles opening in [start, end - granularity], ascending, however many pages that takes."""
        granularity = Granularity.parse(granularity)
        g = granularity.seconds
        first = math.ceil(start.timestamp() / g) * g
        limit = min(end.timestamp(), self.now().timestamp())
        last = math.floor((limit - g) / g) * g  # the last candle that has closed
        rows: dict[int, tuple] = {}
        page_start = first
        while page_start <= last:
            page_last = min(last, page_start + (CANDLES_PER_PAGE - 1) * g)
            data = self.rest.call(
                "get candles",
                self.client.get_public_candles,
                product_id=product_id,
                start=str(page_start),
                end=str(page_last + g - 1),
                granularity=granularity.name,
            )
            for raw in data.get("candles") or []:
                row = convert.candle_row(raw)
                # Coinbase includes the candle still forming; a signal must never see it.
                if page_start <= row[0] <= page_last:
                    rows[row[0]] = row
            page_start = page_last + g
        return Candles.from_rows(list(rows.values()))

    def ticker(self, product_id: str) -> Ticker:
        """Best bid and ask and the last trade, from the public ticker."""
        data = self.rest.call("get ticker", self.client.get_public_market_trades, product_id=product_id, limit=1)
        bid, ask = convert.dec(data.get("best_bid")), convert.dec(data.get("best_ask"))
        if bid <= 0 or ask <= 0:
            raise TemporaryError(f"Coinbase has no bid/ask for {product_id} right now")
        trades = data.get("trades") or []
        price = convert.dec(trades[0].get("price")) if trades else (bid + ask) / 2
        return Ticker(product_id, bid, ask, price, self.now())
