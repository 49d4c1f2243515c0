"""Products with options and variants for the selector tests, made through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nexus_shop.models import Product
from nexus_shop.services.catalog import product_create


def product_with(
    name: str,
    variants: list[tuple[dict[str, str], str, int]],
    *,
    sku: str | None = None,
    **extra: Any,
) -> Product:
    """A product whose variants are ``(options, price, stock)``; its options are the names
    and values the variants use, in order of appearance."""
    options: dict[str, list[str]] = {}
    for values, _, _ in variants:
        for option, value in values.items():
            if value not in options.setdefault(option, []):
                options[option].append(value)
    code = sku or name.upper().replace(" ", "-")
    return product_create(
        name=name,
        sku=code,
        options=[{"name": option, "values": values} for option, values in options.items()],
        variants=[
            {
                "sku": f"{code}-{i}",
                "options": values,
                "price": Decimal(price),
                "stock": stock,
            }
            for i, (values, price, stock) in enumerate(variants)
        ],
        **extra,
    )


def tee(name: str = "Tee", **extra: Any) -> Product:
    """Sizes S, M, L in Red and Blue, at different prices and stock:

    ======  =====  =====  =====
    size    red    blue
    ======  =====  =====  =====
    S       10/0   12/3
    M       15/2   18/0
    L       25/1
    ======  =====  =====  =====
    """
    return product_with(
        name,
        [
            ({"Size": "S", "Colour": "Red"}, "10.00", 0),
            ({"Size": "S", "Colour": "Blue"}, "12.00", 3),
            ({"Size": "M", "Colour": "Red"}, "15.00", 2),
            ({"Size": "M", "Colour": "Blue"}, "18.00", 0),
            ({"Size": "L", "Colour": "Red"}, "25.00", 1),
        ],
        **extra,
    )
