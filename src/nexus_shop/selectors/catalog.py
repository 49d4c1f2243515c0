"""The catalogue's reads under their former path, for code written before the split.

The reads live in :mod:`~nexus_shop.selectors.categories`,
:mod:`~nexus_shop.selectors.products`, :mod:`~nexus_shop.selectors.facets` and
:mod:`~nexus_shop.selectors.visibility` (the visibility rules); import from there. This
module only re-exports them: the example project's ``demo_setup`` command and the
benchmarks import ``product_list`` and ``PRODUCT_SORTS`` from here, and so may a host.
"""

from __future__ import annotations

from nexus_shop.selectors.categories import (
    CATEGORY_SORT,
    attach_product_counts,
    category_get,
    category_list,
)
from nexus_shop.selectors.facets import (
    CategoryFacet,
    CategorySubtreeFacet,
    PriceBucket,
    ProductFacets,
    product_facets,
)
from nexus_shop.selectors.products import (
    PRODUCT_SORTS,
    RELEVANCE_SORT_OTHER,
    RELEVANCE_SORT_PG,
    product_get,
    product_list,
)
from nexus_shop.selectors.visibility import Viewer, is_catalogue_staff

__all__ = [
    "CATEGORY_SORT",
    "PRODUCT_SORTS",
    "RELEVANCE_SORT_OTHER",
    "RELEVANCE_SORT_PG",
    "CategoryFacet",
    "CategorySubtreeFacet",
    "PriceBucket",
    "ProductFacets",
    "Viewer",
    "attach_product_counts",
    "category_get",
    "category_list",
    "is_catalogue_staff",
    "product_facets",
    "product_get",
    "product_list",
]
