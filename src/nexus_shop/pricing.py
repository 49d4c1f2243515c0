"""Pluggable shipping and tax calculators.

``NEXUS_SHOP_SHIPPING_CALCULATOR`` and ``NEXUS_SHOP_TAX_CALCULATOR`` name, by dotted path,
a callable with the signature of :class:`Calculator`. It runs inside the checkout's
transaction, after the stock is reserved, and returns a non-negative ``Decimal`` in the
shop's currency (the checkout rounds it to cents with :func:`nexus_shop.money.to_cents`). Raising
:class:`nexus_shop.exceptions.ValidationFailed` refuses the checkout with a 422 (for
example "we do not ship to this country"). Both default to zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.utils.module_loading import import_string

from nexus_shop.money import to_cents

ZERO = to_cents(Decimal(0))


@dataclass(frozen=True)
class PricedLine:
    """One line of the order being placed, with the price it is sold at.

    ``sku`` and ``unit_price`` are the variant's; ``variant_id`` and ``options`` (its option
    values, name to value) came with variants and default to "unknown" for code that
    builds lines itself.
    """

    product_id: int
    sku: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    variant_id: int | None = None
    options: Mapping[str, str] = field(default_factory=dict)


class Calculator(Protocol):
    def __call__(
        self,
        *,
        lines: Sequence[PricedLine],
        subtotal: Decimal,
        currency: str,
        shipping_address: dict[str, Any] | None,
        user: Any,
    ) -> Decimal: ...


def zero_shipping(
    *,
    lines: Sequence[PricedLine],
    subtotal: Decimal,
    currency: str,
    shipping_address: dict[str, Any] | None,
    user: Any,
) -> Decimal:
    """Free shipping: the default ``NEXUS_SHOP_SHIPPING_CALCULATOR``."""
    return ZERO


def zero_tax(
    *,
    lines: Sequence[PricedLine],
    subtotal: Decimal,
    currency: str,
    shipping_address: dict[str, Any] | None,
    user: Any,
) -> Decimal:
    """No tax (prices include it, or none applies): the default ``NEXUS_SHOP_TAX_CALCULATOR``."""
    return ZERO


def load_calculator(path: str) -> Calculator:
    calculator: Calculator = import_string(path)
    return calculator
