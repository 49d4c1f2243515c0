"""The cached public reads: one declaration each, used by the routers and by the cache.

A :class:`Read` names the operation (its URL name, which is also the read kind, and its
``operation_id``), the schema of its query parameters (the very class the router takes
as ``Query[...]``), the kinds of rows it may depend on, and the lists it depends on. The
response cache's keys are derived from that schema (:mod:`nexus_shop.http_cache.keys`),
its routes from the URL names, and a response's dependencies and CDN tags from
:func:`mark_public_read`, which the views call with the rows they show. A test checks
each declaration against the router's operation, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from django.http import HttpRequest

from nexus_shop.http_cache import deps
from nexus_shop.schemas.catalog import (
    CategoryDetailParams,
    CategoryListParams,
    ProductDetailParams,
    ProductFacetsParams,
    ProductFilter,
)
from nexus_shop.schemas.params import QueryParams


class ReadKind(StrEnum):
    """The cached public reads; each value is the operation's URL name."""

    PRODUCT_LIST = "product-list"
    PRODUCT_FACETS = "product-facets"
    PRODUCT_DETAIL = "product-detail"
    CATEGORY_LIST = "category-list"
    CATEGORY_DETAIL = "category-detail"


@dataclass(frozen=True)
class Read:
    """One cached public read."""

    kind: ReadKind
    operation_id: str
    params: type[QueryParams] | None
    """The router's ``Query[...]`` schema; ``None`` for an operation without query
    parameters (ninja then ignores any query string, and so does the key)."""
    path_param: str | None = None
    """The name of the id in the path (a detail), or ``None`` (a list)."""
    lists: tuple[str, ...] = ()
    """The list-level dependencies (:mod:`nexus_shop.http_cache.deps`)."""
    products: bool = False
    """Whether the response shows products (and so depends on their rows)."""
    categories: bool = False
    """Whether it shows categories (and so depends on their rows)."""

    @property
    def url_name(self) -> str:
        return self.kind.value


_DECLARED = (
    Read(
        ReadKind.PRODUCT_LIST,
        "product_list",
        ProductFilter,
        lists=(deps.PRODUCT_LIST,),
        products=True,
        categories=True,
    ),
    # Counts follow list membership (and category names, which bump it too).
    Read(
        ReadKind.PRODUCT_FACETS, "product_facets", ProductFacetsParams, lists=(deps.PRODUCT_LIST,)
    ),
    Read(
        ReadKind.PRODUCT_DETAIL,
        "product_get",
        ProductDetailParams,
        path_param="product_id",
        products=True,
        categories=True,
    ),
    Read(
        ReadKind.CATEGORY_LIST,
        "category_list",
        CategoryListParams,
        lists=(deps.CATEGORY_LIST,),
    ),
    # A category's product count follows list membership, which bumps category-list.
    Read(
        ReadKind.CATEGORY_DETAIL,
        "category_get",
        CategoryDetailParams,
        path_param="category_id",
        lists=(deps.CATEGORY_LIST,),
        categories=True,
    ),
)
READS: Mapping[ReadKind, Read] = MappingProxyType({read.kind: read for read in _DECLARED})
"""Every cached public read, by kind."""


def mark_public_read(
    request: HttpRequest,
    kind: ReadKind,
    *,
    product_ids: Collection[int] = (),
    category_ids: Collection[int] = (),
) -> None:
    """Called by the public read views: this response may be cached, and shows these rows.

    Its dependencies are the read's lists and these rows; its CDN tags add ``catalogue``.
    """
    read = READS[kind]
    if (product_ids and not read.products) or (category_ids and not read.categories):
        raise ValueError(f"{kind} does not declare the rows it was given")
    dependencies = list(
        dict.fromkeys([*read.lists, *deps.rows(product_ids=product_ids, category_ids=category_ids)])
    )
    request._nexus_shop_http_cache = {  # type: ignore[attr-defined]  # our own request attribute
        "deps": dependencies,
        "tags": deps.tags_of(dependencies),
    }
