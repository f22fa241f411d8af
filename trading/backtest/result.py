"""What a backtest produced: the equity curve, the orders, the round trips and the metrics.

The loop leaves fixed-point arrays; this turns them into what people read:
Decimal prices, sizes and fees (exact, as the paper exchange would have
booked them), datetimes, round trips and the metrics of
``trading.backtest.metrics``. The Decimal views are built on demand, so a
sweep of many runs pays only for the numbers it ranks by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

import numpy as np

from bots.config import BotConfig
from market.types import Product, Side
from trading import rules
from trading.backtest import kernel
from trading.backtest.fills import FILLED, REJECT_REASONS
from trading.backtest.metrics import equity_metrics, trade_metrics
from trading.backtest.units import Units
from trading.risk import SKIPS

K = kernel


@dataclass(frozen=True)
class Fill:
    """One filled order, as the paper exchange would have booked it."""

    time: datetime  # the decision candle's close: the next candle's open
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    total: Decimal  # paid (buy) or received (sell), fee included
    realised_pnl: Decimal
    score: float
    requested: Decimal  # the order's size: quote to spend (buy) or base to sell


@dataclass(frozen=True)
class RoundTrip:
    """From the buy that opened a position (with any further tranches) to the sell that closed it."""

    entry_time: datetime
    exit_time: datetime | None  # None: still open at the end, marked at the last close
    entry_price: Decimal  # size-weighted average of the buys' prices
    exit_price: Decimal | None
    size: Decimal
    buys: int
    fees: Decimal
    cost: Decimal  # quote paid for the position, fees included
    pnl: Decimal  # realised; for an open position, unrealised at the last close

    @property
    def pnl_pct(self) -> float:
        return float(self.pnl / self.cost) if self.cost else 0.0


@dataclass(frozen=True)
class BacktestResult:
    config: BotConfig
    product: Product
    settings: Any  # trading.backtest.engine.BacktestSettings
    units: Units
    times: np.ndarray
    close: np.ndarray
    first: int
    last: int
    equity: np.ndarray  # float, at each candle's close: cash + position * close (valid from first to last)
    orders: np.ndarray  # one row per order (kernel columns)
    order_scores: np.ndarray
    counts: np.ndarray  # decisions per rules code, and candles spent paused

    # --- the curve ---------------------------------------------------------
    @property
    def span(self) -> slice:
        return slice(self.first, self.last + 1)

    def time(self, i: int) -> datetime:
        """The close of candle ``i``: when it was decided on, and when its order filled."""
        return datetime.fromtimestamp(int(self.times[i]) + self.config.granularity.seconds, UTC)

    @property
    def start(self) -> datetime:
        return self.time(self.first)

    @property
    def end(self) -> datetime:
        return self.time(self.last)

    @cached_property
    def cash(self) -> np.ndarray:
        """Quote cash at each candle's close, fixed-point (``units.cash_decimal`` reads one); exact."""
        start = self.units.cash(self.settings.starting_balance)
        return self._holding(K.TOTAL, -1, start)

    @cached_property
    def base(self) -> np.ndarray:
        """The position at each candle's close, in base units; exact."""
        return self._holding(K.BASE, 1, 0)

    def _holding(self, column: int, buy_sign: int, start: int) -> np.ndarray:
        # Holdings change only at fills: the fill decided on candle i lands before candle i + 1 closes.
        filled = self._filled
        sign = np.where(filled[:, K.SIDE] == rules.BUY, buy_sign, -buy_sign)
        delta = np.zeros(len(self.times) + 1, dtype=np.int64)
        np.add.at(delta, filled[:, K.STEP] + 1, sign * filled[:, column])
        delta[self.first] += start
        out = np.cumsum(delta)[:-1]
        out[: self.first] = 0
        return out

    @cached_property
    def buy_and_hold(self) -> np.ndarray:
        """The starting balance held in the base currency over the span: balance * close / first close."""
        close = self.close[self.span]
        return float(self.settings.starting_balance) * close / close[0]

    # --- orders --------------------------------------------------------------
    @cached_property
    def _filled(self) -> np.ndarray:
        return self.orders[self.orders[:, K.OUTCOME] == FILLED]

    def fills(self) -> list[Fill]:
        u, rows = self.units, self.orders
        out = []
        for row, score in zip(rows, self.order_scores):
            if row[K.OUTCOME] != FILLED:
                continue
            out.append(
                Fill(
                    time=self.time(row[K.STEP]),
                    side=Side.BUY if row[K.SIDE] == rules.BUY else Side.SELL,
                    price=u.price_decimal(row[K.PRICE]),
                    size=u.base_decimal(row[K.BASE]),
                    fee=u.cash_decimal(row[K.FEE]),
                    total=u.cash_decimal(row[K.TOTAL]),
                    realised_pnl=u.cash_decimal(row[K.REALISED]),
                    score=float(score),
                    requested=(u.cash_decimal if row[K.SIDE] == rules.BUY else u.base_decimal)(row[K.REQUESTED]),
                )
            )
        return out

    def rejected(self) -> list[dict[str, Any]]:
        """Orders the exchange would have refused, with its reason."""
        return [
            {
                "time": self.time(row[K.STEP]).isoformat(),
                "side": "BUY" if row[K.SIDE] == rules.BUY else "SELL",
                "reason": REJECT_REASONS[int(row[K.OUTCOME])],
            }
            for row in self.orders
            if row[K.OUTCOME] != FILLED
        ]

    def round_trips(self) -> list[RoundTrip]:
        trips: list[RoundTrip] = []
        buys: list[Fill] = []
        for fill in self.fills():
            if fill.side is Side.BUY:
                buys.append(fill)
                continue
            trips.append(self._trip(buys, fill))
            buys = []
        if buys:
            trips.append(self._trip(buys, None))
        return trips

    def _trip(self, buys: list[Fill], sell: Fill | None) -> RoundTrip:
        size = sum((b.size for b in buys), Decimal(0))
        cost = sum((b.total for b in buys), Decimal(0))
        fees = sum((b.fee for b in buys), Decimal(0)) + (sell.fee if sell else 0)
        entry = sum((b.price * b.size for b in buys), Decimal(0)) / size
        if sell is None:
            mark = Decimal(float(self.close[self.last]))
            pnl = (size * mark - cost).quantize(self.product.quote_increment)
        else:
            pnl = sell.realised_pnl
        return RoundTrip(
            entry_time=buys[0].time,
            exit_time=sell.time if sell else None,
            entry_price=entry.quantize(self.product.price_increment),
            exit_price=sell.price if sell else None,
            size=size,
            buys=len(buys),
            fees=fees,
            cost=cost,
            pnl=pnl,
        )

    # --- metrics -------------------------------------------------------------
    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Every figure of the summary (see ``trading.backtest.metrics`` for the definitions)."""
        u, span, filled = self.units, self.span, self._filled
        scale = 10.0**u.cash_places
        is_buy = filled[:, K.SIDE] == rules.BUY
        paid = np.cumsum(np.where(is_buy, filled[:, K.TOTAL], 0))
        sells = np.flatnonzero(~is_buy)
        before = np.concatenate([[0], paid[sells[:-1]]]) if len(sells) else np.zeros(0, dtype=np.int64)
        cost = (paid[sells] - before) / scale
        pnl = filled[sells, K.REALISED] / scale
        out: dict[str, Any] = {
            "starting_balance": str(self.settings.starting_balance),
            "final_equity": float(self.equity[self.last]),
            **equity_metrics(self.equity[span], self.times[span], self.config.granularity.seconds),
            "buy_and_hold_return": float(self.close[self.last] / self.close[self.first] - 1),
            "exposure": float(self.counts[K.EXPOSED] / (self.last - self.first + 1)),
            **trade_metrics(pnl, cost),
            "fills": len(filled),
            "rejected_orders": len(self.orders) - len(filled),
            "fees_paid": str(u.cash_decimal(int(filled[:, K.FEE].sum())).quantize(Decimal("0.00000001"))),
            "open_position": f"{u.base_decimal(int(filled[:, K.BASE] @ np.where(is_buy, 1, -1))).normalize():f}",
        }
        return out

    def skips(self) -> dict[str, int]:
        """How often each rule said no (SkipCode values), orders placed, and candles spent paused."""
        out = {"order": int(self.counts[rules.ORDER]), "paused": int(self.counts[K.PAUSED])}
        out.update({SKIPS[code].value: int(self.counts[code]) for code in SKIPS if self.counts[code]})
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: span, settings, metrics, skips, round trips and fills."""
        s = self.settings
        return {
            "product_id": self.product.product_id,
            "granularity": self.config.granularity.short,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "candles": self.last - self.first + 1,
            "settings": {
                "starting_balance": str(s.starting_balance),
                "fee_rate": str(s.fee_rate),
                "slippage_rate": str(s.slippage_rate),
                "spread_rate": str(s.spread_rate),
            },
            "metrics": self.metrics,
            "skips": self.skips(),
            "trades": [_trip_dict(t) for t in self.round_trips()],
            "fills": [_fill_dict(f) for f in self.fills()],
            "rejected": self.rejected(),
        }


def _trip_dict(t: RoundTrip) -> dict[str, Any]:
    return {
        "entry_time": t.entry_time.isoformat(),
        "exit_time": t.exit_time.isoformat() if t.exit_time else None,
        "entry_price": str(t.entry_price),
        "exit_price": str(t.exit_price) if t.exit_price is not None else None,
        "size": str(t.size),
        "buys": t.buys,
        "fees": str(t.fees),
        "cost": str(t.cost),
        "pnl": str(t.pnl),
        "pnl_pct": round(t.pnl_pct, 6),
    }


def _fill_dict(f: Fill) -> dict[str, Any]:
    return {
        "time": f.time.isoformat(),
        "side": f.side.value,
        "price": str(f.price),
        "size": str(f.size),
        "fee": str(f.fee),
        "total": str(f.total),
        "realised_pnl": str(f.realised_pnl),
        "score": round(f.score, 6),
    }
