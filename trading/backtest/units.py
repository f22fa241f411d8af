"""Fixed-point money for the compiled loop: every amount an exact int64.

The live path keeps money in Decimal. The backtester's loop cannot (numba
has no Decimal), and floats would round where Decimal does not, so it counts
money in integer units small enough to hold every amount exactly:

- base sizes in units of 10**-base_places (the finest of the product's base
  increment and minimum/maximum sizes);
- prices in units of 10**-price_places (at least the price increment's places);
- quote amounts in units of 10**-cash_places, where cash_places =
  base_places + price_places, so that size * price is an exact amount, and at
  least 8 (fees are rounded up to 8 places).

Rates (fee, slippage, spread, tranche step) become exact fractions num/den.
Every conversion from Decimal refuses a value that would not be exact, and
``check_bounds`` refuses amounts that could overflow int64 in the loop, so
the integers are never wrong quietly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from market.types import Product

FEE_PLACES = 8  # market.fills rounds fees up to 8 decimal places
LIMIT = 2**62  # amounts stay below this so sums and differences cannot overflow


class UnitsError(ValueError):
    """An amount the fixed-point loop cannot hold exactly."""


def places(value: Decimal) -> int:
    """Decimal places needed to write ``value`` exactly."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def fraction(rate: Decimal) -> tuple[int, int]:
    """``rate`` as an exact (numerator, denominator) with a power-of-ten denominator."""
    den = 10 ** places(rate)
    return int(rate * den), den


@dataclass(frozen=True)
class Units:
    base_places: int
    price_places: int
    quote_places: int  # the product's own quote precision, for display

    @property
    def cash_places(self) -> int:
        return self.base_places + self.price_places

    @classmethod
    def for_product(cls, product: Product, *amounts: Decimal) -> Units:
        """Units fine enough for the product's increments and for ``amounts`` (quote currency)."""
        base = max(places(product.base_increment), places(product.base_min_size), places(product.base_max_size))
        # Prices carry the price increment's own exponent: the replay quotes round to it.
        price = max(-int(product.price_increment.as_tuple().exponent), 0)
        quote = max(
            [FEE_PLACES, places(product.quote_increment), places(product.quote_min_size)] + [places(a) for a in amounts]
        )
        price = max(price, quote - base)
        return cls(base, price, places(product.quote_increment))

    def base(self, value: Decimal) -> int:
        return _exact(value, self.base_places, "base size")

    def price(self, value: Decimal) -> int:
        return _exact(value, self.price_places, "price")

    def cash(self, value: Decimal) -> int:
        return _exact(value, self.cash_places, "amount")

    def base_decimal(self, units: int) -> Decimal:
        return Decimal(int(units)).scaleb(-self.base_places)

    def price_decimal(self, units: int) -> Decimal:
        return Decimal(int(units)).scaleb(-self.price_places)

    def cash_decimal(self, units: int) -> Decimal:
        return Decimal(int(units)).scaleb(-self.cash_places)


def _exact(value: Decimal, digits: int, what: str) -> int:
    scaled = Decimal(value).scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise UnitsError(f"{what} {value} has more than {digits} decimal places")
    result = int(scaled)
    if abs(result) >= LIMIT:
        raise UnitsError(f"{what} {value} is too large for the backtester's fixed-point arithmetic")
    return result


def check_bounds(**products: int) -> None:
    """Refuse a run whose intermediate products could overflow int64 (``name=value`` pairs)."""
    for name, value in products.items():
        if value >= LIMIT:
            raise UnitsError(
                f"the backtest's {name.replace('_', ' ')} is too large for exact fixed-point arithmetic; "
                "use smaller amounts or rates with fewer decimal places"
            )
