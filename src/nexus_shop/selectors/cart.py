"""Reads of carts: what a cart shows (live prices, stock available) is computed here, once.

A line holds a variant: its price, sku, option values and stock are the variant's, its
name the product's. A line whose variant (or product) can no longer be bought shows
``available`` 0, by the visibility rule
(:func:`~nexus_shop.selectors.visibility.is_purchasable_variant`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nexus_shop.conf import conf
from nexus_shop.models import Cart, CartLine
from nexus_shop.money import to_cents
from nexus_shop.selectors.visibility import is_purchasable_variant


@dataclass(frozen=True)
class CartLineView:
    id: int
    product_id: int
    variant_id: int
    name: str
    sku: str
    options: dict[str, str]
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    available: int
    insufficient_stock: bool


@dataclass(frozen=True)
class CartView:
    id: int
    token: str | None
    lines: list[CartLineView]
    subtotal: Decimal
    currency: str


def _line_view(line: CartLine) -> CartLineView:
    # Soft-deleted variants and products included (the base managers see them).
    variant = line.variant
    available = variant.stock if is_purchasable_variant(variant) else 0
    return CartLineView(
        id=line.pk,
        product_id=line.product_id,
        variant_id=variant.pk,
        name=variant.product.name,
        sku=variant.sku,
        options=dict(variant.options),
        unit_price=to_cents(variant.price),
        quantity=line.quantity,
        line_total=to_cents(variant.price * line.quantity),
        available=available,
        insufficient_stock=line.quantity > available,
    )


def cart_view(*, cart_id: int, token: str | None = None) -> CartView:
    """The whole cart as the API shows it; ``token`` only when the cart was just created."""
    cart = Cart.objects.get(pk=cart_id)
    lines = [
        _line_view(line)
        for line in CartLine.objects.filter(cart=cart)
        .select_related("variant__product")
        .order_by("id")
    ]
    subtotal = to_cents(sum((line.line_total for line in lines), Decimal("0")))
    return CartView(id=cart.pk, token=token, lines=lines, subtotal=subtotal, currency=conf.CURRENCY)
