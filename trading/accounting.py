"""Positions derived from fills: tranches, average entry, fees and P&L.

Pure and exact (Decimal). The Position and Tranche rows are a cache of
``replay(fills)``; the backtester uses the same function. Sells consume
tranches oldest first (FIFO); realised P&L is proceeds less the sell fee less
the cost (buy price plus buy fee) of what was sold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from market.types import Side

ZERO = Decimal("0")
COST_PLACES = Decimal("0.000000000001")  # the decimal places of Tranche.cost and Position.cost_basis


@dataclass(frozen=True)
class FillRecord:
    trade_id: str
    side: Side
    price: Decimal
    size: Decimal  # base units filled
    fee: Decimal
    fee_currency: str
    time: datetime
    quote_currency: str = "USD"

    @property
    def fee_in_quote(self) -> Decimal:
        """The fee valued in quote currency (a base-currency fee at the fill price)."""
        return self.fee if self.fee_currency == self.quote_currency else self.fee * self.price

    @property
    def base_delta(self) -> Decimal:
        """Base units gained (buy) or lost (sell), net of a fee charged in base."""
        fee_base = self.fee if self.fee_currency != self.quote_currency else ZERO
        return self.size - fee_base if self.side is Side.BUY else -(self.size + fee_base)

    @property
    def quote_delta(self) -> Decimal:
        """Quote currency paid (negative) or received (positive), fee included."""
        fee_quote = self.fee if self.fee_currency == self.quote_currency else ZERO
        value = self.price * self.size
        return -(value + fee_quote) if self.side is Side.BUY else value - fee_quote


@dataclass(frozen=True)
class Lot:
    """One buy's remaining part: a tranche."""

    trade_id: str
    opened_at: datetime
    entry_price: Decimal
    size: Decimal
    cost: Decimal  # quote spent on what remains, buy fee included


@dataclass(frozen=True)
class PositionState:
    lots: tuple[Lot, ...] = ()
    realised_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    last_buy_price: Decimal | None = None

    @property
    def base_size(self) -> Decimal:
        return sum((lot.size for lot in self.lots), ZERO)

    @property
    def cost_basis(self) -> Decimal:
        return sum((lot.cost for lot in self.lots), ZERO)

    @property
    def average_entry(self) -> Decimal | None:
        """Cost per unit held, buy fees included."""
        size = self.base_size
        return self.cost_basis / size if size > 0 else None

    @property
    def opened_at(self) -> datetime | None:
        return self.lots[0].opened_at if self.lots else None

    def unrealised_pnl(self, mark: Decimal) -> Decimal:
        return unrealised_pnl(self.base_size, self.cost_basis, mark)


def unrealised_pnl(base_size: Decimal, cost_basis: Decimal, mark: Decimal) -> Decimal:
    """What a position would gain or lose if sold at ``mark``: its value there less what it cost."""
    return base_size * mark - cost_basis


def apply_fill(state: PositionState, fill: FillRecord) -> tuple[PositionState, Decimal]:
    """Fold one fill into the position; returns the new state and the P&L it realised."""
    fee = fill.fee_in_quote
    if fill.side is Side.BUY:
        size = fill.base_delta
        # All the quote paid: a base-currency fee is already in it, through the smaller size received.
        cost = -fill.quote_delta
        lot = Lot(fill.trade_id, fill.time, fill.price, size, cost)
        new = replace(state, lots=(*state.lots, lot), fees_paid=state.fees_paid + fee, last_buy_price=fill.price)
        return new, ZERO
    to_sell = -fill.base_delta
    held = state.base_size
    if to_sell > held:
        raise ValueError(f"sell of {to_sell} exceeds the position of {held}")
    cost_sold = ZERO
    lots: list[Lot] = []
    for lot in state.lots:
        if to_sell <= 0:
            lots.append(lot)
            continue
        take = min(lot.size, to_sell)
        # Split on the 12 places the rows store, so the sold and the kept parts add up to the lot's cost
        # exactly (a bare division rounds at 28 digits and the books drift).
        part_cost = lot.cost if take == lot.size else (lot.cost * take / lot.size).quantize(COST_PLACES)
        cost_sold += part_cost
        to_sell -= take
        if take < lot.size:
            lots.append(replace(lot, size=lot.size - take, cost=lot.cost - part_cost))
    realised = fill.quote_delta - cost_sold
    last_buy = state.last_buy_price if lots else None
    new = PositionState(tuple(lots), state.realised_pnl + realised, state.fees_paid + fee, last_buy)
    return new, realised


def replay(fills: list[FillRecord]) -> PositionState:
    state = PositionState()
    for fill in sorted(fills, key=lambda f: (f.time, f.trade_id)):
        state, _ = apply_fill(state, fill)
    return state
