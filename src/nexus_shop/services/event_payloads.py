"""What the services put in an event's ``data``: each resource as the API shows it.

One builder per resource kind, each through the read and the schema the API itself
answers with (never a copy of their fields), called inside the writing transaction, so the
payload is the state that commits:

* a product: its detail as staff read it back after a write (``product_written``, the
  body of every catalogue write endpoint), soft-deleted or not;
* a category: ``CategoryOut`` of ``category_written``, as the category write endpoints
  answer with it (and ``GET /categories/{id}`` shows it), soft-deleted or not;
* an order: ``OrderOut.render``, as its owner sees it;
* a variant's stock crossing zero: ``InventoryEventData``.

The ``emit_*`` helpers build the payload only when events are being written
(:func:`nexus_shop.services.events.active`), so a suppressed bulk load pays nothing.
"""

from __future__ import annotations

from typing import Any

from nexus_shop.models import Product
from nexus_shop.schemas.catalog import CategoryOut, ProductDetailOut
from nexus_shop.schemas.orders import OrderOut
from nexus_shop.schemas.webhooks import InventoryEventData
from nexus_shop.selectors.categories import category_written
from nexus_shop.selectors.products import attach_detail, product_written
from nexus_shop.services import events

__all__ = [
    "category_data",
    "emit_category",
    "emit_inventory",
    "emit_order",
    "emit_product",
    "order_data",
    "product_data",
]


def product_data(*, product_id: int, current: Product | None = None) -> dict[str, Any]:
    """The product as the write endpoints answer with it (``product_written``): three
    statements.

    ``current`` is the caller's own instance of the product when it is up to date in every
    column, its category loaded (a service that locked the row, wrote it with ``save()``
    and refreshed its summary): its row is not read again, only its variants and images
    (two statements, the detail's own ``attach_detail``).
    """
    if current is None:
        product = product_written(product_id=product_id)
    else:
        product = current
        attach_detail([product], staff=True)
    data: dict[str, Any] = ProductDetailOut.model_validate(product).model_dump(mode="json")
    return data


def category_data(*, category_id: int) -> dict[str, Any]:
    """The category as the write endpoints answer with it (``category_written``), deleted
    or not: two statements."""
    data: dict[str, Any] = CategoryOut.model_validate(
        category_written(category_id=category_id)
    ).model_dump(mode="json")
    return data


def order_data(order: Any) -> dict[str, Any]:
    """The order as its owner sees it. ``order`` is an :class:`~nexus_shop.models.Order`
    (its ``lines`` and ``events`` are read, or taken from a prefetch) or any object with
    the same attributes, ``lines`` and ``events`` as lists (checkout's, from memory)."""
    return OrderOut.render(order)


def emit_product(type: str, *, product_id: int, current: Product | None = None) -> None:
    """Emit ``product.<type>`` with the product as it is now in this transaction
    (``current``: see :func:`product_data`)."""
    if events.active():
        data = product_data(product_id=product_id, current=current)
        events.emit(type=type, resource_id=product_id, data=data)


def emit_category(type: str, *, category_id: int) -> None:
    """Emit ``category.<type>`` with the category as it is now in this transaction."""
    if events.active():
        events.emit(type=type, resource_id=category_id, data=category_data(category_id=category_id))


def emit_order(type: str, *, order: Any, data: dict[str, Any] | None = None) -> None:
    """Emit ``order.<type>`` with ``order`` rendered (see :func:`order_data`), or with
    ``data`` when the caller rendered it already (checkout: its answer's body)."""
    if events.active():
        events.emit(
            type=type, resource_id=order.pk, data=order_data(order) if data is None else data
        )


def emit_inventory(type: str, *, product_id: int, variant_id: int, sku: str, stock: int) -> None:
    """Emit ``inventory.<type>`` about one variant, on its product's resource."""
    if events.active():
        data = InventoryEventData(
            product_id=product_id, variant_id=variant_id, sku=sku, stock=stock
        ).model_dump(mode="json")
        events.emit(type=type, resource_id=product_id, data=data)
