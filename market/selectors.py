"""Reads of market rows."""

from __future__ import annotations

from market.models import Product
from market.types import Product as ProductSpec
from market.types import UnknownProduct


def product_exists(product_id: str) -> bool:
    """True when the market lists the pair (products are synced on first use)."""
    from market.services import products_sync

    if not Product.objects.exists():
        products_sync()
    return Product.objects.filter(product_id=product_id).exists()


def product_get(product_id: str) -> ProductSpec:
    row = Product.objects.filter(product_id=product_id).first()
    if row is None:
        from market.services import products_sync

        products_sync()
        row = Product.objects.filter(product_id=product_id).first()
    if row is None:
        raise UnknownProduct(product_id)
    return row.to_spec()
