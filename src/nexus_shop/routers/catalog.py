"""Catalogue endpoints: parse, make one call, return. Errors are mapped in ``nexus_shop.errors``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from ninja.params.functions import Header
from pydantic import TypeAdapter

from nexus_shop import versions
from nexus_shop.conf import described
from nexus_shop.http_cache.headers import finish_response, parse_if_match
from nexus_shop.http_cache.reads import ReadKind, mark_public_read
from nexus_shop.schemas.catalog import (
    CategoryDetailParams,
    CategoryIn,
    CategoryListParams,
    CategoryOut,
    CategoryPatch,
    ProductDetailOut,
    ProductDetailParams,
    ProductFacetsOut,
    ProductFacetsParams,
    ProductFilter,
    ProductIn,
    ProductOut,
    ProductPatch,
    ProductReplace,
    VariantIn,
    VariantPatch,
)
from nexus_shop.schemas.common import ErrorOut, PageOut
from nexus_shop.security import read_auth, require_perm, write_auth
from nexus_shop.selectors import categories as category_reads
from nexus_shop.selectors import facets as facet_reads
from nexus_shop.selectors import products as product_reads
from nexus_shop.selectors.visibility import CATALOGUE_STAFF_PERMS, CATEGORY_STAFF_PERMS
from nexus_shop.services import catalog as services
from nexus_shop.services import variants as variant_services

if TYPE_CHECKING:
    from nexus_shop.models import Product

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
# Writes to one existing row also take If-Match: 412 when it names an older version.
CONDITIONAL_WRITE_ERRORS: dict[int, Any] = {**WRITE_ERRORS, 412: ErrorOut}
CONDITIONAL_BODY_ERRORS: dict[int, Any] = {**BODY_ERRORS, 412: ErrorOut}

IF_MATCH = Header(None, alias="If-Match", description="Entity tag(s) from an earlier ETag.")
# Who sees more in the catalogue reads: the rule is visibility.is_catalogue_staff.
STAFF_SEE_MORE_DOC = (
    "Catalogue staff (holders of any of "
    + ", ".join(f"`{perm}`" for perm in CATALOGUE_STAFF_PERMS)
    + ") also see inactive products, and deleted ones with `include_deleted=true`."
)
CATEGORY_STAFF_SEE_MORE_DOC = (
    "Category staff (holders of any of "
    + ", ".join(f"`{perm}`" for perm in CATEGORY_STAFF_PERMS)
    + ") also see deleted categories with `include_deleted=true`."
)
IF_MATCH_DOC = (
    " Send `If-Match` with the `ETag` of your last read to make the write conditional: "
    "412 if the resource changed since, and nothing is written."
)


def _viewer(request: HttpRequest) -> Any:
    return getattr(request, "auth", None)


class _Rendered:
    """A 200 body in one pass: validate from attributes, then pydantic's ``dump_json``.

    ninja validates the view's result, dumps it to Python objects, and encodes those with
    the stdlib's ``json`` and Django's encoder (a Python call per ``Decimal`` and datetime):
    about 0.24 ms of CPU for a 20-product page, against 0.09 ms here, where pydantic-core
    does both steps in Rust. The output is the same JSON: ``Decimal`` becomes a string,
    never a float, and timestamps keep the renderer's format (``schemas.catalog.Timestamp``).
    The operation's ``response`` map still documents (and types) the body.
    """

    def __init__(self, schema: Any) -> None:
        self.adapter: TypeAdapter[Any] = TypeAdapter(schema)

    def __call__(self, request: HttpRequest, value: Any, response: HttpResponse) -> HttpResponse:
        """``response`` is ninja's temporal response (headers a view set, e.g. ``ETag``);
        it gets its caching headers as ``NexusShopAPI.create_response`` would give them."""
        response.content = self.adapter.dump_json(
            self.adapter.validate_python(value, from_attributes=True)
        )
        return finish_response(request, response)


_category_page = _Rendered(PageOut[CategoryOut])
_category = _Rendered(CategoryOut)
_product_page = _Rendered(PageOut[ProductOut])
_product = _Rendered(ProductDetailOut)


# Categories -----------------------------------------------------------------------------------


@router.get(
    "/categories",
    auth=read_auth,
    response={200: PageOut[CategoryOut], **READ_ERRORS},
    operation_id="category_list",
    url_name=ReadKind.CATEGORY_LIST,
    summary="List categories",
    description="Categories in tree order (parents before children). Same envelope and "
    "pagination modes as the product list. `product_count` counts live, active products "
    "in the category and its descendants. " + CATEGORY_STAFF_SEE_MORE_DOC,
)
def category_list(
    request: HttpRequest, response: HttpResponse, params: Query[CategoryListParams]
) -> Any:
    page = category_reads.category_list(params=params, viewer=_viewer(request))
    mark_public_read(request, ReadKind.CATEGORY_LIST)
    return _category_page(request, page, response)


@router.get(
    "/categories/{category_id}",
    auth=read_auth,
    response={200: CategoryOut, **READ_ERRORS},
    operation_id="category_get",
    url_name=ReadKind.CATEGORY_DETAIL,
    summary="Get a category",
    description="404 if missing or soft-deleted. " + CATEGORY_STAFF_SEE_MORE_DOC,
)
def category_get(
    request: HttpRequest,
    response: HttpResponse,
    category_id: int,
    params: Query[CategoryDetailParams],
) -> Any:
    category = category_reads.category_get(
        category_id=category_id, viewer=_viewer(request), include_deleted=params.include_deleted
    )
    mark_public_read(request, ReadKind.CATEGORY_DETAIL, category_ids=[category.pk])
    response["ETag"] = versions.etag(versions.category_version(category))
    return _category(request, category, response)


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
    return Status(201, category_reads.category_written(category_id=category.pk))


@router.patch(
    "/categories/{category_id}",
    auth=write_auth,
    response={200: CategoryOut, **CONDITIONAL_BODY_ERRORS},
    operation_id="category_update",
    url_name="category-update",
    summary="Update a category",
    description="Needs `nexus_shop.change_category`. Changing `parent_id` moves the subtree; "
    "a category cannot become its own ancestor (422)." + IF_MATCH_DOC,
)
def category_update(
    request: HttpRequest,
    response: HttpResponse,
    category_id: int,
    payload: CategoryPatch,
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.change_category")
    services.category_update(
        category_id=category_id,
        if_match=parse_if_match(if_match),
        **payload.model_dump(exclude_unset=True),
    )
    return _category_written(response, category_id)


@router.delete(
    "/categories/{category_id}",
    auth=write_auth,
    response={204: None, **CONDITIONAL_WRITE_ERRORS},
    operation_id="category_delete",
    url_name="category-delete",
    summary="Soft-delete a category",
    description="Needs `nexus_shop.delete_category`. 409 while it has live child categories "
    "or any products (soft-deleted ones included). The row is kept and can be restored; "
    "its slug is free for a new category meanwhile." + IF_MATCH_DOC,
)
def category_delete(request: HttpRequest, category_id: int, if_match: str | None = IF_MATCH) -> Any:
    require_perm(request, "nexus_shop.delete_category")
    services.category_delete(category_id=category_id, if_match=parse_if_match(if_match))
    return Status(204, None)


@router.post(
    "/categories/{category_id}/restore",
    auth=write_auth,
    response={200: CategoryOut, **CONDITIONAL_WRITE_ERRORS},
    operation_id="category_restore",
    url_name="category-restore",
    summary="Restore a soft-deleted category",
    description="Needs `nexus_shop.delete_category`. 409 if its parent is deleted (restore "
    "the parent first) or a live category took its slug meanwhile. `If-Match` compares "
    "with the deleted category's `ETag` (category staff read it with "
    "`include_deleted=true`)." + IF_MATCH_DOC,
)
def category_restore(
    request: HttpRequest, response: HttpResponse, category_id: int, if_match: str | None = IF_MATCH
) -> Any:
    require_perm(request, "nexus_shop.delete_category")
    services.category_restore(category_id=category_id, if_match=parse_if_match(if_match))
    return _category_written(response, category_id)


def _category_written(response: HttpResponse, category_id: int) -> Any:
    """The category after a write, with its ``product_count`` and its new ``ETag``."""
    category = category_reads.category_written(category_id=category_id)
    response["ETag"] = versions.etag(versions.category_version(category))
    return category


# Products -------------------------------------------------------------------------------------


@router.get(
    "/products",
    auth=read_auth,
    response={200: PageOut[ProductOut], **READ_ERRORS},
    operation_id="product_list",
    url_name=ReadKind.PRODUCT_LIST,
    summary="List, filter, sort, search and page products",
    description="Filters combine. Page mode (`page`, `page_size`) answers `count`, exact up "
    f"to {described('EXACT_COUNT_LIMIT')} matches and that limit past it, with "
    f"`count_exact` false; it reaches the first {described('PAGE_MODE_MAX_ITEMS')} items, "
    "and a page past them is a 422 pointing to cursors. Cursor mode (`cursor`) is keyset "
    "pagination at any depth, with `count`, `count_exact` and `page` null. "
    f"`ordering=relevance` (PostgreSQL) ranks the first {described('SEARCH_RANK_WINDOW')} "
    "matches. " + STAFF_SEE_MORE_DOC,
)
def product_list(
    request: HttpRequest, response: HttpResponse, filters: Query[ProductFilter]
) -> Any:
    page = product_reads.product_list(filters=filters, viewer=_viewer(request))
    mark_public_read(
        request,
        ReadKind.PRODUCT_LIST,
        product_ids=[p.pk for p in page.items],
        category_ids={p.category_id for p in page.items if p.category_id is not None},
    )
    return _product_page(request, page, response)


@router.get(
    "/products/facets",
    auth=read_auth,
    response={200: ProductFacetsOut, **READ_ERRORS},
    operation_id="product_facets",
    url_name=ReadKind.PRODUCT_FACETS,
    summary="Count products per category and price bucket",
    description="Takes the product list's filters and `q` (no pagination, no ordering) and "
    "counts what that list holds: per top-level category, per child of the filtered "
    "`category`, and per price bucket (NEXUS_SHOP_FACET_PRICE_BUCKETS). Counts are exact up "
    f"to {described('EXACT_COUNT_LIMIT')} matches; past it `count_exact` is false and "
    "they are taken over the first matches found.",
)
def product_facets(request: HttpRequest, params: Query[ProductFacetsParams]) -> Any:
    facets = facet_reads.product_facets(params=params, viewer=_viewer(request))
    mark_public_read(request, ReadKind.PRODUCT_FACETS)
    return facets


@router.get(
    "/products/{product_id}",
    auth=read_auth,
    response={200: ProductDetailOut, **READ_ERRORS},
    operation_id="product_get",
    url_name=ReadKind.PRODUCT_DETAIL,
    summary="Get a product",
    description="404 if missing, soft-deleted or inactive. " + STAFF_SEE_MORE_DOC,
)
def product_get(
    request: HttpRequest,
    response: HttpResponse,
    product_id: int,
    params: Query[ProductDetailParams],
) -> Any:
    product = product_reads.product_get(
        product_id=product_id, viewer=_viewer(request), include_deleted=params.include_deleted
    )
    mark_public_read(
        request,
        ReadKind.PRODUCT_DETAIL,
        product_ids=[product.pk],
        category_ids=[product.category_id] if product.category_id is not None else [],
    )
    response["ETag"] = versions.etag(versions.product_version(product))
    return _product(request, product, response)


@router.post(
    "/products",
    auth=write_auth,
    response={201: ProductDetailOut, **BODY_ERRORS},
    operation_id="product_create",
    url_name="product-create",
    summary="Create a product",
    description="Needs `nexus_shop.add_product`. 409 if the slug or sku is taken by a live "
    "product. The slug is derived from the name (made unique) when left out.",
)
def product_create(request: HttpRequest, payload: ProductIn) -> Any:
    require_perm(request, "nexus_shop.add_product")
    product = services.product_create(**payload.model_dump())
    return Status(201, product_reads.product_written(product_id=product.pk, current=product))


@router.put(
    "/products/{product_id}",
    auth=write_auth,
    response={200: ProductDetailOut, **CONDITIONAL_BODY_ERRORS},
    operation_id="product_replace",
    url_name="product-replace",
    summary="Replace a product",
    description="Needs `nexus_shop.change_product`. Fields left out take their defaults; "
    "a slug left out keeps the current one, and so do `options`, `price` and `stock`. "
    "`variants` are matched by `id`: listed ones are updated, ones without an `id` "
    "created, live ones left out soft-deleted (orders point at them); a body without a "
    "`variants` key leaves the variants as they are (new `options` must then fit them)."
    + IF_MATCH_DOC,
)
def product_replace(
    request: HttpRequest,
    response: HttpResponse,
    product_id: int,
    payload: ProductReplace,
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.change_product")
    body = payload.model_dump()
    if "variants" not in payload.model_fields_set:
        del body["variants"]  # no key at all: the variants stay as they are
    product = services.product_update(
        product_id=product_id, if_match=parse_if_match(if_match), **body
    )
    return _written(request, response, product_id, current=product)


@router.patch(
    "/products/{product_id}",
    auth=write_auth,
    response={200: ProductDetailOut, **CONDITIONAL_BODY_ERRORS},
    operation_id="product_update",
    url_name="product-update",
    summary="Update some fields of a product",
    description="Needs `nexus_shop.change_product`." + IF_MATCH_DOC,
)
def product_update(
    request: HttpRequest,
    response: HttpResponse,
    product_id: int,
    payload: ProductPatch,
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.change_product")
    product = services.product_update(
        product_id=product_id,
        if_match=parse_if_match(if_match),
        **payload.model_dump(exclude_unset=True),
    )
    return _written(request, response, product_id, current=product)


@router.delete(
    "/products/{product_id}",
    auth=write_auth,
    response={204: None, **CONDITIONAL_WRITE_ERRORS},
    operation_id="product_delete",
    url_name="product-delete",
    summary="Soft-delete a product",
    description="Needs `nexus_shop.delete_product`. The row is kept and can be restored."
    + IF_MATCH_DOC,
)
def product_delete(request: HttpRequest, product_id: int, if_match: str | None = IF_MATCH) -> Any:
    require_perm(request, "nexus_shop.delete_product")
    services.product_soft_delete(product_id=product_id, if_match=parse_if_match(if_match))
    return Status(204, None)


@router.post(
    "/products/{product_id}/restore",
    auth=write_auth,
    response={200: ProductDetailOut, **CONDITIONAL_WRITE_ERRORS},
    operation_id="product_restore",
    url_name="product-restore",
    summary="Restore a soft-deleted product",
    description="Needs `nexus_shop.delete_product`. 409 if a live product took its slug or "
    "sku meanwhile. `If-Match` compares with the deleted product's `ETag` (staff read it "
    "with `include_deleted=true`)." + IF_MATCH_DOC,
)
def product_restore(
    request: HttpRequest, response: HttpResponse, product_id: int, if_match: str | None = IF_MATCH
) -> Any:
    require_perm(request, "nexus_shop.delete_product")
    product = services.product_restore(product_id=product_id, if_match=parse_if_match(if_match))
    return _written(request, response, product_id, current=product)


def _written(
    request: HttpRequest,
    response: HttpResponse,
    product_id: int,
    *,
    current: Product | None = None,
) -> HttpResponse:
    """The product detail after a write, as staff see it, with its new ``ETag``
    (``current``: the service's own up-to-date instance, see ``product_written``)."""
    product = product_reads.product_written(product_id=product_id, current=current)
    response["ETag"] = versions.etag(versions.product_version(product))
    return _product(request, product, response)


# Variants -------------------------------------------------------------------------------------

VARIANT_DOC = (
    " Variants are part of their product: they have no GET of their own, and `If-Match` "
    "takes the **product's** `ETag`. The answer is the product detail."
)


@router.post(
    "/products/{product_id}/variants",
    auth=write_auth,
    response={201: ProductDetailOut, **CONDITIONAL_BODY_ERRORS},
    operation_id="variant_create",
    url_name="variant-create",
    summary="Add a variant to a product",
    description="Needs `nexus_shop.change_product`. The product must have options, and the "
    "variant one value of each (names and values matched ignoring case); a combination or "
    "sku a live variant has is a 409." + VARIANT_DOC + IF_MATCH_DOC,
)
def variant_create(
    request: HttpRequest,
    response: HttpResponse,
    product_id: int,
    payload: VariantIn,
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.change_product")
    variant_services.variant_create(
        product_id=product_id, if_match=parse_if_match(if_match), **payload.model_dump()
    )
    response.status_code = 201
    return _written(request, response, product_id)


@router.patch(
    "/products/{product_id}/variants/{variant_id}",
    auth=write_auth,
    response={200: ProductDetailOut, **CONDITIONAL_BODY_ERRORS},
    operation_id="variant_update",
    url_name="variant-update",
    summary="Update some fields of a variant",
    description="Needs `nexus_shop.change_product`. `stock_delta` changes the stock "
    "atomically, relative to whatever it is, and needs no `If-Match`: a restock during a "
    "sale never fights the sale's `ETag` changes; below 0 is a 409 and nothing changes."
    + VARIANT_DOC
    + IF_MATCH_DOC,
)
def variant_update(
    request: HttpRequest,
    response: HttpResponse,
    product_id: int,
    variant_id: int,
    payload: VariantPatch,
    *,
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.change_product")
    variant_services.variant_update(
        product_id=product_id,
        variant_id=variant_id,
        if_match=parse_if_match(if_match),
        **payload.model_dump(exclude_unset=True),
    )
    return _written(request, response, product_id)


@router.delete(
    "/products/{product_id}/variants/{variant_id}",
    auth=write_auth,
    response={204: None, **CONDITIONAL_WRITE_ERRORS},
    operation_id="variant_delete",
    url_name="variant-delete",
    summary="Soft-delete a variant",
    description="Needs `nexus_shop.delete_product`. The row is kept (orders point at it) "
    "and can be restored; a product's last variant cannot be deleted (409)."
    + VARIANT_DOC.replace(" The answer is the product detail.", "")
    + IF_MATCH_DOC,
)
def variant_delete(
    request: HttpRequest, product_id: int, variant_id: int, if_match: str | None = IF_MATCH
) -> Any:
    require_perm(request, "nexus_shop.delete_product")
    variant_services.variant_soft_delete(
        product_id=product_id, variant_id=variant_id, if_match=parse_if_match(if_match)
    )
    return Status(204, None)


@router.post(
    "/products/{product_id}/variants/{variant_id}/restore",
    auth=write_auth,
    response={200: ProductDetailOut, **CONDITIONAL_WRITE_ERRORS},
    operation_id="variant_restore",
    url_name="variant-restore",
    summary="Restore a soft-deleted variant",
    description="Needs `nexus_shop.delete_product`. 409 if a live variant took its sku or "
    "its option values meanwhile, or the product's options no longer fit it."
    + VARIANT_DOC
    + IF_MATCH_DOC,
)
def variant_restore(
    request: HttpRequest,
    response: HttpResponse,
    product_id: int,
    variant_id: int,
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.delete_product")
    variant_services.variant_restore(
        product_id=product_id, variant_id=variant_id, if_match=parse_if_match(if_match)
    )
    return _written(request, response, product_id)
