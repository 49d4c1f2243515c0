"""One hook for every change to what the public catalogue shows.

Anything that changes products or categories (a service, the admin through the services, a
bulk or conditional ``UPDATE`` that bypasses ``save()``, such as a sale's stock decrement)
calls :func:`products_changed` or :func:`categories_changed` *inside* the transaction that
made the change. The listeners run once that transaction commits (nothing runs for a
rollback), with the ids that changed. Listeners are what keep caches exact: the response
cache drops exactly the entries that show those rows, a CDN purge backend purges their
surrogate keys.

Listeners are registered with :func:`connect` (usually in ``AppConfig.ready``). A listener
that raises is logged and does not stop the others or fail the write: a cache that missed an
invalidation must fail safe on its own (see :mod:`nexus_shop.cache`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Final

from django.db import transaction

from nexus_shop import instruments

logger = logging.getLogger("nexus_shop.invalidation")

# The product fields whose change can move a product into, out of or within a list: what
# lists filter on (price, category, is_active, deletion), search (name, description, option
# values, skus) and sort by (name, price). ``services.catalog.product_update`` compares them
# before and after; a change to any other field (stock aside) is not a membership change.
MEMBERSHIP_FIELDS: Final = (
    "name",
    "description",
    "price",
    "category_id",
    "is_active",
    "deleted_at",
    # The search also finds a product by its variants' option values and exact skus (the
    # default variant's is the product's own).
    "option_words",
    "sku",
)


@dataclass(frozen=True)
class Change:
    """What changed, as the listeners receive it.

    ``product_ids`` and ``category_ids`` name the rows whose public representation may
    have changed. ``membership`` is True when the change can move rows into, out of or
    within a filtered, searched or sorted list: a change to one of
    :data:`MEMBERSHIP_FIELDS` (a product's name, description, price, category,
    ``is_active``, deletion, option values or sku), a variant's stock crossing zero, or any
    category change. It is False for a change that only alters what the rows' own entries
    show (a stock change that stays on the same side of zero, a slug, a ``compare_at_price``,
    an image).

    ``everything`` is True for a bulk load or wipe (:func:`catalogue_changed`): listeners
    drop all they hold for the catalogue; the id sets are then empty.
    """

    product_ids: frozenset[int] = field(default_factory=frozenset)
    category_ids: frozenset[int] = field(default_factory=frozenset)
    membership: bool = True
    everything: bool = False


Listener = Callable[[Change], None]
_listeners: list[Listener] = []


def connect(listener: Listener) -> None:
    """Call ``listener(change)`` after each committed change (idempotent per listener)."""
    if listener not in _listeners:
        _listeners.append(listener)


def disconnect(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _dispatch(change: Change) -> None:
    result = "succeeded"
    for listener in list(_listeners):
        try:
            listener(change)
        except Exception:  # a listener's bug must not undo a committed write
            logger.exception("invalidation listener %r failed for %r", listener, change)
            result = "failed"
    instruments.count(instruments.INVALIDATIONS, result)


def products_changed(*, product_ids: Collection[int], membership: bool = True) -> None:
    """Products ``product_ids`` changed in the current transaction; notify on commit."""
    if product_ids:
        change = Change(product_ids=frozenset(product_ids), membership=membership)
        transaction.on_commit(lambda: _dispatch(change))


def categories_changed(*, category_ids: Collection[int]) -> None:
    """Categories ``category_ids`` changed (name, slug, tree); notify on commit."""
    if category_ids:
        change = Change(category_ids=frozenset(category_ids), membership=True)
        transaction.on_commit(lambda: _dispatch(change))


def catalogue_changed() -> None:
    """Anything in the catalogue may have changed (a bulk load, ``COPY``, a wipe); notify on commit.

    Outside a transaction the listeners run at once.
    """
    change = Change(membership=True, everything=True)
    transaction.on_commit(lambda: _dispatch(change))
