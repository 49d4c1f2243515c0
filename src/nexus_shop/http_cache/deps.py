"""The dependency graph: one vocabulary for the response cache's store and for the CDN.

A public read depends on named things, and a committed change invalidates named things.
The names are the same strings in the store (its stamps, see
:mod:`nexus_shop.http_cache.store`) and in the CDN's surrogate keys (``Surrogate-Key``,
``Cache-Tag``, purged by :mod:`nexus_shop.http_cache.purge`):

``catalogue``
    Every public read (a CDN tag only: the store flushes instead, with a new epoch).
``product-list``
    Product-list membership: which products a filtered list or its facets hold.
``category-list``
    Anything a category response shows (names, the tree, product counts).
``product-<id>`` / ``category-<id>``
    One row.

A response's CDN tags are ``catalogue`` and its dependencies (:func:`tags_of`); a change
invalidates :func:`dependencies_of` it in the store and purges the same names at the CDN
(:func:`purge_keys`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from nexus_shop import invalidation
from nexus_shop.http_cache.engine import get_engine

CATALOGUE = "catalogue"
PRODUCT_LIST = "product-list"
CATEGORY_LIST = "category-list"


def product(pk: int) -> str:
    return f"product-{pk}"


def category(pk: int) -> str:
    return f"category-{pk}"


def rows(*, product_ids: Iterable[int] = (), category_ids: Iterable[int] = ()) -> list[str]:
    """The dependency names of these rows."""
    return [*map(product, product_ids), *map(category, category_ids)]


def tags_of(dependencies: Collection[str]) -> list[str]:
    """The CDN surrogate keys of a response with these dependencies."""
    return [CATALOGUE, *dependencies]


def dependencies_of(change: invalidation.Change) -> list[str]:
    """The names a committed change invalidates (``change.everything`` aside: see callers)."""
    names = rows(product_ids=sorted(change.product_ids), category_ids=sorted(change.category_ids))
    if change.membership or change.category_ids:
        names += [PRODUCT_LIST, CATEGORY_LIST]
    return names


def purge_keys(change: invalidation.Change) -> list[str]:
    """The surrogate keys a CDN must purge for ``change``."""
    return [CATALOGUE] if change.everything else dependencies_of(change)


def on_change(change: invalidation.Change) -> None:
    """The invalidation listener: bump exactly what ``change`` touched (on commit)."""
    engine = get_engine()
    if engine is None:
        return
    if change.everything:
        if not engine.store.flush():
            engine.store.invalidate([])  # keeps retrying the flush until Redis takes it
        return
    engine.store.invalidate(dependencies_of(change))


def flush_response_cache(cache: Any = None) -> None:
    """A recovery hook (:func:`nexus_shop.cache.on_recovery`): flush every stored response."""
    engine = get_engine()
    if engine is not None and not engine.store.flush():
        raise RuntimeError("the response cache could not be flushed")
