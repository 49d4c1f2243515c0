"""Stock changes and what they tell the caches: the "stock crossed zero" rule, once.

A product's stock decides whether it is in stock (the model's rule,
:data:`nexus_shop.models.catalog.IN_STOCK`), and that decides which
``in_stock`` lists hold it. So a stock change is a *membership* change for
:mod:`nexus_shop.invalidation` exactly when it crosses zero (sold out, or back in stock);
any other stock change alters only what the product's own entries show. Every write that
changes stock (checkout, returned stock, a product update) asks :func:`crosses_zero` or
reports through :func:`stock_changed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nexus_shop import invalidation
from nexus_shop.models.catalog import in_stock

__all__ = ["StockChange", "crosses_zero", "in_stock", "stock_changed"]


def crosses_zero(*, before: int, after: int) -> bool:
    """Whether a stock change moves a product into or out of the ``in_stock`` lists."""
    return in_stock(before) != in_stock(after)


@dataclass(frozen=True)
class StockChange:
    """One product's stock, before and after a change in the current transaction."""

    product_id: int
    before: int
    after: int


def stock_changed(changes: Iterable[StockChange]) -> None:
    """Tell :mod:`nexus_shop.invalidation` about stock changes (on commit).

    Products whose stock crossed zero are a membership change; the others are not.
    """
    crossed: list[int] = []
    stayed: list[int] = []
    for change in changes:
        (crossed if crosses_zero(before=change.before, after=change.after) else stayed).append(
            change.product_id
        )
    invalidation.products_changed(product_ids=stayed, membership=False)
    invalidation.products_changed(product_ids=crossed, membership=True)
