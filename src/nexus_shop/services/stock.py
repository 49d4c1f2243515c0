"""Stock changes and what they tell the caches: the "stock crossed zero" rule, once.

Stock is a variant's. A variant's stock decides whether it is in stock (the model's rule,
:data:`nexus_shop.models.catalog.IN_STOCK`), and that decides which ``in_stock`` lists
hold its product: the product's own ``in_stock`` (some active variant has stock), and the
option filters, where ``in_stock`` applies to the matching variant itself ("a red M in
stock"). So a stock change is a *membership* change of its product for
:mod:`nexus_shop.invalidation` exactly when a **variant's** stock crosses zero (sold out,
or back in stock); any other stock change alters only what the product's own entries
show. (The product's summary crosses zero only when one of its variants does.) Every
write that changes stock (checkout, returned stock, a variant write) asks
:func:`crosses_zero` or reports through :func:`stock_changed`.

The same crossing is what webhooks hear of: ``inventory.out_of_stock`` when a variant's
stock reaches zero, ``inventory.back_in_stock`` when it rises from zero, one event per
variant that crossed (:func:`announce_crossings`), never one per sale: a flash sale of a
thousand units is one event, when the last one goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nexus_shop import invalidation
from nexus_shop.models import VariantOption
from nexus_shop.models.catalog import in_stock
from nexus_shop.services.event_payloads import emit_inventory

__all__ = ["StockChange", "announce_crossings", "crosses_zero", "in_stock", "stock_changed"]


def crosses_zero(*, before: int, after: int) -> bool:
    """Whether a variant's stock change moves its product into or out of filtered lists."""
    return in_stock(before) != in_stock(after)


@dataclass(frozen=True)
class StockChange:
    """One variant's stock, before and after a change in the current transaction.

    ``variant_id`` None: a stock without variants behind it (``before``/``after`` are then
    the product's), as code written before variants reports it. A variant's change names
    its ``sku`` too (the ``inventory.*`` events carry it).
    """

    product_id: int
    before: int
    after: int
    variant_id: int | None = None
    sku: str | None = None

    def __post_init__(self) -> None:
        if self.variant_id is not None and self.sku is None:
            raise TypeError("a variant's StockChange needs its sku")


def announce_crossings(changes: Iterable[StockChange]) -> None:
    """Emit ``inventory.out_of_stock`` / ``inventory.back_in_stock`` for each variant of
    ``changes`` whose stock crossed zero, in the order given; nothing for the others."""
    for change in changes:
        if change.variant_id is None or not crosses_zero(before=change.before, after=change.after):
            continue
        assert change.sku is not None  # noqa: S101  (__post_init__ refuses a variant without)
        emit_inventory(
            "inventory.back_in_stock" if in_stock(change.after) else "inventory.out_of_stock",
            product_id=change.product_id,
            variant_id=change.variant_id,
            sku=change.sku,
            stock=change.after,
        )


def stock_changed(changes: Iterable[StockChange]) -> None:
    """Record stock changes made in the current transaction.

    Now: a variant whose stock crossed zero has its option rows' ``in_stock`` set (what
    option filters with ``in_stock`` read; see :class:`~nexus_shop.models.VariantOption`),
    one ``UPDATE`` for the variants sold out and one for those back in stock.

    On commit, :mod:`nexus_shop.invalidation` is told: a product one of whose variants
    crossed zero is a membership change; a product whose variants all stayed on their
    side of zero is not (it is told once, either way). Each variant that crossed is
    announced (:func:`announce_crossings`).
    """
    changes = list(changes)
    announce_crossings(changes)
    crossed: set[int] = set()
    touched: set[int] = set()
    now_in_stock: dict[bool, set[int]] = {True: set(), False: set()}
    for change in changes:
        touched.add(change.product_id)
        if crosses_zero(before=change.before, after=change.after):
            crossed.add(change.product_id)
            if change.variant_id is not None:
                now_in_stock[in_stock(change.after)].add(change.variant_id)
    for state, variant_ids in now_in_stock.items():
        if variant_ids:
            VariantOption.objects.filter(variant_id__in=sorted(variant_ids)).update(in_stock=state)
    invalidation.products_changed(product_ids=sorted(touched - crossed), membership=False)
    invalidation.products_changed(product_ids=sorted(crossed), membership=True)
