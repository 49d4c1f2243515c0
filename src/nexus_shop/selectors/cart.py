"""Reads of carts: what a cart shows (live prices, stock available) is computed here, once."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nexus_shop.conf import conf
from nexus_shop.models import Cart, CartLine
from nexus_shop.money import to_cents
from nexus_shop.selectors.visibility import is_public_product


@dataclass(frozen=True)
class CartLineView:
    id: int
    product_id: int
    name: str
    sku: str
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
    product = line.product  # soft-deleted products included (the base manager sees them)
    purchasable = is_public_product(product)
    available = product.stock if purchasable else 0
    return CartLineView(
        id=line.pk,
        product_id=product.pk,
        name=product.name,
        sku=product.sku,
        unit_price=to_cents(product.price),
        quantity=line.quantity,
        line_total=to_cents(product.price * line.quantity),
        available=available,
        insufficient_stock=line.quantity > available,
    )


def cart_view(*, cart_id: int, token: str | None = None) -> CartView:
    """The whole cart as the API shows it; ``token`` only when the cart was just created."""
    cart = Cart.objects.get(pk=cart_id)
    lines = [
        _line_view(line)
        for line in CartLine.objects.filter(cart=cart).select_related("product").order_by("id")
    ]
    subtotal = to_cents(sum((line.line_total for line in lines), Decimal("0")))
    return CartView(id=cart.pk, token=token, lines=lines, subtotal=subtotal, currency=conf.CURRENCY)
