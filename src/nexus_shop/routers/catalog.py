"""Catalogue endpoints: parse, make one call, return. Errors are mapped in ``nexus_shop.api``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from nexus_shop.schemas.catalog import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    PageParams,
    ProductDetailParams,
    ProductFacetsOut,
    ProductFacetsParams,
    ProductFilter,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from nexus_shop.schemas.common import ErrorOut, PageOut
from nexus_shop.security import read_auth, require_perm, write_auth
from nexus_shop.selectors import catalog as selectors
from nexus_shop.services import catalog as services

router = Router(tags=["catalog"])

READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
# Operations with a JSON body: 400 when it cannot be parsed (or nests too deeply).
BODY_ERRORS: dict[int, Any] = {400: ErrorOut, **WRITE_ERRORS}


def _viewer(request: HttpRequest) -> Any:
    return getattr(request, "auth", None)


# Categories -----------------------------------------------------------------------------------


@router.get(
    "/categories",
    auth=read_auth,
    response={200: PageOut[CategoryOut], **READ_ERRORS},
    operation_id="category_list",
    url_name="category-list",
    summary="List categories",
    description="Categories in tree order (parents before children). Same envelope and "
    "pagination modes as the product list. `product_count` counts live, active products "
    "in the category and its descendants.",
)
def category_list(request: HttpRequest, params: Query[PageParams]) -> Any:
    return selectors.category_list(params=params)


@router.get(
    "/categories/{category_id}",
    auth=read_auth,
    response={200: CategoryOut, **READ_ERRORS},
    operation_id="category_get",
    url_name="category-detail",
    summary="Get a category",
)
def category_get(request: HttpRequest, category_id: int) -> Any:
    return selectors.category_get(category_id=category_id)


@router.post(
    "/categories",
    auth=write_auth,
    response={201: CategoryOut, **BODY_ERRORS},
    operation_id="category_create",
    url_name="category-create",
    summary="Create a category",
    description="Needs `nexus_shop.add_category`. The slug is derived from the name when left out.",
)
def category_create(request: HttpRequest, payload: CategoryIn) -> Any:
    require_perm(request, "nexus_shop.add_category")
    category = services.category_create(**payload.model_dump())
    return Status(201, selectors.category_get(category_id=category.pk))


@router.patch(
    "/categories/{category_id}",
    auth=write_auth,
    response={200: CategoryOut, **BODY_ERRORS},
    operation_id="category_update",
    url_name="category-update",
    summary="Update a category",
    description="Needs `nexus_shop.change_category`. Changing `parent_id` moves the subtree; "
    "a category cannot become its own ancestor (422).",
)
def category_update(request: HttpRequest, category_id: int, payload: CategoryPatch) -> Any:
    require_perm(request, "nexus_shop.change_category")
    services.category_update(category_id=category_id, **payload.model_dump(exclude_unset=True))
    return selectors.category_get(category_id=category_id)  # with its product_count


@router.delete(
    "/categories/{category_id}",
    auth=write_auth,
    response={204: None, **WRITE_ERRORS},
    operation_id="category_delete",
    url_name="category-delete",
    summary="Delete a category",
    description="Needs `nexus_shop.delete_category`. 409 while it has children or products.",
)
def category_delete(request: HttpRequest, category_id: int) -> Any:
    require_perm(request, "nexus_shop.delete_category")
    services.category_delete(category_id=category_id)
    return Status(204, None)


# Products -------------------------------------------------------------------------------------


@router.get(
    "/products",
    auth=read_auth,
    response={200: PageOut[ProductOut], **READ_ERRORS},
    operation_id="product_list",
    url_name="product-list",
    summary="List, filter, sort, search and page products",
    description="Filters combine. Page mode (`page`, `page_size`) answers `count`, exact up "
    "to NEXUS_SHOP_EXACT_COUNT_LIMIT (10,000) matches and that limit past it, with "
    "`count_exact` false; it reaches the first NEXUS_SHOP_PAGE_MODE_MAX_ITEMS (10,000) items, "
    "and a page past them is a 422 pointing to cursors. Cursor mode (`cursor`) is keyset "
    "pagination at any depth, with `count`, `count_exact` and `page` null. "
    "`ordering=relevance` (PostgreSQL) ranks the first NEXUS_SHOP_SEARCH_RANK_WINDOW (1,000) "
    "matches. Staff (holders of `nexus_shop.change_product`) also see inactive products, and "
    "deleted ones with `include_deleted=true`.",
)
def product_list(request: HttpRequest, filters: Query[ProductFilter]) -> Any:
    return selectors.product_list(filters=filters, viewer=_viewer(request))


@router.get(
    "/products/facets",
    auth=read_auth,
    response={200: ProductFacetsOut, **READ_ERRORS},
    operation_id="product_facets",
    url_name="product-facets",
    summary="Count products per category and price bucket",
    description="Takes the product list's filters and `q` (no pagination, no ordering) and "
    "counts what that list holds: per top-level category, per child of the filtered "
    "`category`, and per price bucket (NEXUS_SHOP_FACET_PRICE_BUCKETS). Counts are exact up "
    "to NEXUS_SHOP_EXACT_COUNT_LIMIT (10,000) matches; past it `count_exact` is false and "
    "they are taken over the first matches found.",
)
def product_facets(request: HttpRequest, params: Query[ProductFacetsParams]) -> Any:
    return selectors.product_facets(params=params, viewer=_viewer(request))


@router.get(
    "/products/{product_id}",
    auth=read_auth,
    response={200: ProductOut, **READ_ERRORS},
    operation_id="product_get",
    url_name="product-detail",
    summary="Get a product",
    description="404 if missing, soft-deleted or inactive. Staff see inactive products, and "
    "deleted ones with `include_deleted=true`.",
)
def product_get(request: HttpRequest, product_id: int, params: Query[ProductDetailParams]) -> Any:
    return selectors.product_get(
        product_id=product_id, viewer=_viewer(request), include_deleted=params.include_deleted
    )


@router.post(
    "/products",
    auth=write_auth,
    response={201: ProductOut, **BODY_ERRORS},
    operation_id="product_create",
    url_name="product-create",
    summary="Create a product",
    description="Needs `nexus_shop.add_product`. 409 if the slug or sku is taken by a live "
    "product. The slug is derived from the name (made unique) when left out.",
)
def product_create(request: HttpRequest, payload: ProductIn) -> Any:
    require_perm(request, "nexus_shop.add_product")
    return Status(201, services.product_create(**payload.model_dump()))


@router.put(
    "/products/{product_id}",
    auth=write_auth,
    response={200: ProductOut, **BODY_ERRORS},
    operation_id="product_replace",
    url_name="product-replace",
    summary="Replace a product",
    description="Needs `nexus_shop.change_product`. Fields left out take their defaults; "
    "a slug left out keeps the current one.",
)
def product_replace(request: HttpRequest, product_id: int, payload: ProductIn) -> Any:
    require_perm(request, "nexus_shop.change_product")
    return services.product_update(product_id=product_id, **payload.model_dump())


@router.patch(
    "/products/{product_id}",
    auth=write_auth,
    response={200: ProductOut, **BODY_ERRORS},
    operation_id="product_update",
    url_name="product-update",
    summary="Update some fields of a product",
    description="Needs `nexus_shop.change_product`.",
)
def product_update(request: HttpRequest, product_id: int, payload: ProductPatch) -> Any:
    require_perm(request, "nexus_shop.change_product")
    return services.product_update(product_id=product_id, **payload.model_dump(exclude_unset=True))


@router.delete(
    "/products/{product_id}",
    auth=write_auth,
    response={204: None, **WRITE_ERRORS},
    operation_id="product_delete",
    url_name="product-delete",
    summary="Soft-delete a product",
    description="Needs `nexus_shop.delete_product`. The row is kept and can be restored.",
)
def product_delete(request: HttpRequest, product_id: int) -> Any:
    require_perm(request, "nexus_shop.delete_product")
    services.product_soft_delete(product_id=product_id)
    return Status(204, None)


@router.post(
    "/products/{product_id}/restore",
    auth=write_auth,
    response={200: ProductOut, **WRITE_ERRORS},
    operation_id="product_restore",
    url_name="product-restore",
    summary="Restore a soft-deleted product",
    description="Needs `nexus_shop.delete_product`. 409 if a live product took its slug or "
    "sku meanwhile.",
)
def product_restore(request: HttpRequest, product_id: int) -> Any:
    require_perm(request, "nexus_shop.delete_product")
    return services.product_restore(product_id=product_id)
