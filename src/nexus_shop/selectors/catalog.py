"""Reads of the catalogue: visibility rules and query shape live here, once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Expression
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler

from nexus_shop.conf import conf
from nexus_shop.exceptions import NotFound
from nexus_shop.models import Category, Product
from nexus_shop.schemas.catalog import (
    PageParams,
    ProductFacetsParams,
    ProductFilter,
    ProductFilterBase,
)
from nexus_shop.selectors.pagination import (
    Page,
    PageRequest,
    SortKey,
    count_up_to,
    decode_cursor,
    paginate,
)
from nexus_shop.selectors.search import (
    WIDEN_WHEN_FEWER_THAN,
    Match,
    SearchSession,
    search_session,
)


class Viewer(Protocol):
    """Who is looking: a user, ``AnonymousUser``, or anything with these two members."""

    @property
    def is_authenticated(self) -> bool: ...

    def has_perm(self, perm: str, obj: Any = None) -> bool: ...


PRODUCT_SORTS: dict[str, SortKey] = {
    "price": SortKey("price", "price", descending=False, kind="decimal"),
    "-price": SortKey("-price", "price", descending=True, kind="decimal"),
    "created_at": SortKey("created_at", "created_at", descending=False, kind="datetime"),
    "-created_at": SortKey("-created_at", "created_at", descending=True, kind="datetime"),
    "name": SortKey("name", "name", descending=False, kind="str"),
    "-name": SortKey("-name", "name", descending=True, kind="str"),
}
RELEVANCE_SORT_PG = SortKey("relevance", "relevance", descending=True, kind="float")
RELEVANCE_SORT_OTHER = SortKey("relevance", "relevance", descending=True, kind="int")
CATEGORY_SORT = SortKey("path", "path", descending=False, kind="str")


class _InArrayOf(Expression):
    """PostgreSQL's ``column = ANY(ARRAY(subquery))``: membership in a subquery's rows."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: Any, subquery: Any) -> None:
        super().__init__()
        self.column, self.subquery = column, subquery

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.subquery]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.column, self.subquery = exprs

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.column)
        subquery, subquery_params = compiler.compile(self.subquery)
        return f"{column} = ANY(ARRAY{subquery})", (*column_params, *subquery_params)


# Visibility -----------------------------------------------------------------------------------


STAFF_PRODUCT_PERMS = (
    "nexus_shop.change_product",
    "nexus_shop.delete_product",
    "nexus_shop.add_product",
)


def can_see_hidden_products(viewer: Viewer | None) -> bool:
    """Staff see inactive products, and deleted ones on request.

    Staff means holding any product write permission: whoever may create, change or
    delete products must see the inactive ones they create, change or delete.
    """
    if viewer is None or not viewer.is_authenticated:
        return False
    return any(viewer.has_perm(perm) for perm in STAFF_PRODUCT_PERMS)


def _visible_products(*, viewer: Viewer | None, include_deleted: bool = False) -> QuerySet[Product]:
    if can_see_hidden_products(viewer):
        return Product.all_objects.all() if include_deleted else Product.objects.all()
    return Product.objects.filter(is_active=True)


# Categories -----------------------------------------------------------------------------------


def attach_product_counts(categories: Sequence[Category]) -> None:
    """Set ``product_count``: public products in each category and all its descendants.

    One aggregate query for the whole page: public products of the page's subtrees,
    counted per category path, then summed up each subtree here. (A correlated subquery
    per category re-reads a subtree's products once per ancestor on the page: 4 s for a
    page of 40 categories over a million products, against ~0.2 s this way.)
    """
    if not categories:
        return
    in_subtrees = Q()
    for category in categories:
        in_subtrees |= Q(path__startswith=category.path)
    # Per category: an index-only count on the partial index of public products.
    direct = (
        _visible_products(viewer=None)
        .filter(category_id=OuterRef("pk"))
        .order_by()
        .values("category_id")
        .annotate(n=Count("*"))  # COUNT(*), not COUNT(id): the index alone can answer it
        .values("n")
    )
    per_path: list[tuple[str, int]] = list(
        Category.objects.filter(in_subtrees)
        .annotate(n=Coalesce(Subquery(direct, output_field=IntegerField()), Value(0)))
        .values_list("path", "n")
    )
    for category in categories:
        category.product_count = sum(n for path, n in per_path if path.startswith(category.path))


def category_list(*, params: PageParams) -> Page[Category]:
    page = paginate(
        Category.objects.all(),
        sort=CATEGORY_SORT,
        request=_page_request(params),
        scope="categories",
    )
    attach_product_counts(page.items)
    return page


def _page_request(params: PageParams) -> PageRequest:
    return PageRequest(
        page=params.page,
        page_size=params.page_size or conf.DEFAULT_PAGE_SIZE,
        cursor=params.cursor,
    )


def category_get(*, category_id: int) -> Category:
    try:
        category = Category.objects.get(pk=category_id)
    except Category.DoesNotExist:
        raise NotFound(f"No category with id {category_id}.") from None
    attach_product_counts([category])
    return category


# Products -------------------------------------------------------------------------------------


def product_get(
    *, product_id: int, viewer: Viewer | None, include_deleted: bool = False
) -> Product:
    queryset = _visible_products(viewer=viewer, include_deleted=include_deleted)
    try:
        return queryset.select_related("category").get(pk=product_id)
    except Product.DoesNotExist:
        raise NotFound(f"No product with id {product_id}.") from None


def product_list(*, filters: ProductFilter, viewer: Viewer | None) -> Page[Product]:
    queryset = _filtered_products(filters=filters, viewer=viewer).select_related("category")
    request = _page_request(filters)

    if not filters.q:
        sort = PRODUCT_SORTS[filters.ordering]
        return paginate(queryset, sort=sort, request=request, scope="products")

    ranked = filters.ordering == "relevance"
    if connection.vendor != "postgresql":
        sort = RELEVANCE_SORT_OTHER if ranked else PRODUCT_SORTS[filters.ordering]
        queryset = _substring_search(queryset, filters.q)
        return paginate(queryset, sort=sort, request=request, scope="products")

    with search_session(filters.q) as session:
        if ranked and request.cursor is None:
            # One statement: the page carries the count of the rank window, which also
            # says whether the search must widen (then, one more page query).
            page = _search_page(queryset, session.exact(), filters=filters, request=request)
            if not page.count_exact or (page.count or 0) >= WIDEN_WHEN_FEWER_THAN:
                return page
            return _search_page(queryset, session.widened(), filters=filters, request=request)
        match, counted = _search_match(queryset, session, request=request)
        return _search_page(
            queryset,
            match,
            filters=filters,
            request=request,
            counted=counted,
            # Ordered by a column: walk that column's index once the count shows the
            # matches are many (under a category too: see the docs' performance page).
            after_count=None if ranked else session.walk_sort_index_if_common,
        )


def _search_page(
    queryset: QuerySet[Product],
    match: Match,
    *,
    filters: ProductFilter,
    request: PageRequest,
    counted: tuple[int, bool] | None = None,
    after_count: Callable[[int | None], None] | None = None,
) -> Page[Product]:
    """One page of the products ``match`` finds, ordered as ``filters`` asks.

    ``ordering=relevance`` ranks a bounded window, not every match: the first
    ``NEXUS_SHOP_SEARCH_RANK_WINDOW`` matches the indexes yield. A common word matching tens
    of thousands of products then costs a page, not a sort of all of them. Its first page
    (page mode) counts the window in the same statement (``COUNT(*) OVER ()``).
    """
    queryset = queryset.filter(match.condition)
    ranked = filters.ordering == "relevance"
    count_annotation = None
    if ranked:
        window = queryset.order_by().values("pk")[: conf.SEARCH_RANK_WINDOW]
        queryset = queryset.filter(pk__in=window)
        if request.cursor is None and counted is None:
            count_annotation = "matches"
            queryset = queryset.annotate(matches=Window(Count("*")))
    return paginate(
        queryset.annotate(relevance=match.relevance),
        sort=RELEVANCE_SORT_PG if ranked else PRODUCT_SORTS[filters.ordering],
        request=request,
        scope="products",
        counted=counted,
        count_annotation=count_annotation,
        cursor_state={"w": int(match.widened)},
        after_count=after_count,
    )


def _search_match(
    queryset: QuerySet[Product], session: SearchSession, *, request: PageRequest
) -> tuple[Match, tuple[int, bool] | None]:
    """The match for a search's page, and ``(count, exact)`` when finding it counted them.

    A cursor says whether its search widened (the next pages must match as the first did):
    no statement. Otherwise one: in page mode the count of the exact matches, up to the
    count limit, which the envelope reports and which also tells whether to widen; in
    cursor mode, for an older cursor that does not say, a probe of up to
    ``WIDEN_WHEN_FEWER_THAN`` rows.
    """
    if request.cursor is not None:
        widened = decode_cursor(request.cursor, scope="products").get("w")
        if widened is not None:
            return session.widened() if widened else session.exact(), None
    exact = session.exact()
    limit = conf.EXACT_COUNT_LIMIT
    few = WIDEN_WHEN_FEWER_THAN - 1
    found, all_found = count_up_to(
        queryset.filter(exact.condition), few if request.cursor is not None else max(few, limit)
    )
    if all_found and found <= few:
        return session.widened(), None
    if request.cursor is not None:
        return exact, None
    return exact, (found, all_found) if found <= limit else (limit, False)


def _substring_matches(queryset: QuerySet[Product], q: str) -> QuerySet[Product]:
    """Other databases: the products whose name or description holds ``q`` (any case)."""
    return queryset.filter(Q(name__icontains=q) | Q(description__icontains=q))


def _substring_search(queryset: QuerySet[Product], q: str) -> QuerySet[Product]:
    """Other databases: :func:`_substring_matches`, name hits ranked first."""
    relevance = Case(
        When(name__icontains=q, then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return _substring_matches(queryset, q).annotate(relevance=relevance)


def _filtered_products(*, filters: ProductFilterBase, viewer: Viewer | None) -> QuerySet[Product]:
    """What the viewer may see, narrowed by every filter but the search (``q``)."""
    queryset = _visible_products(viewer=viewer, include_deleted=filters.include_deleted)
    if filters.category is not None:
        subtree = Category.objects.filter(
            path__startswith=Subquery(
                Category.objects.filter(slug=filters.category).values("path")[:1]
            )
        ).values("pk")
        if filters.q and connection.vendor == "postgresql":
            # = ANY(ARRAY(subquery)): the subtree's ids become one value the category
            # index takes in a bitmap scan, ANDed with the search's; as IN (subquery) the
            # planner joined every search match to the categories (0.67 s against 0.1 s
            # for a common word in a small category).
            queryset = queryset.filter(_InArrayOf(F("category_id"), Subquery(subtree)))
        else:
            queryset = queryset.filter(category_id__in=subtree)
    if filters.min_price is not None:
        queryset = queryset.filter(price__gte=filters.min_price)
    if filters.max_price is not None:
        queryset = queryset.filter(price__lte=filters.max_price)
    if filters.in_stock is not None:
        queryset = queryset.filter(stock__gt=0) if filters.in_stock else queryset.filter(stock=0)
    return queryset


# Facets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryFacet:
    id: int
    name: str
    slug: str
    count: int


@dataclass(frozen=True)
class CategorySubtreeFacet(CategoryFacet):
    children: list[CategoryFacet]


@dataclass(frozen=True)
class PriceBucket:
    min: Decimal
    max: Decimal | None
    count: int


@dataclass(frozen=True)
class ProductFacets:
    count: int
    count_exact: bool
    categories: list[CategoryFacet]
    subtree: CategorySubtreeFacet | None
    uncategorized: int
    price_buckets: list[PriceBucket]


def product_facets(*, params: ProductFacetsParams, viewer: Viewer | None) -> ProductFacets:
    """Counts of the products the same filters and ``q`` list: per category, per price bucket.

    A pure function of ``params`` and the viewer's visibility, so it can be cached like the
    list. One statement whatever the tree's size (with ``q`` on PostgreSQL, two: a probe of
    up to twenty exact matches first, which says whether the search widens; see
    :mod:`nexus_shop.selectors.search`), the ``UNION ALL`` of

    1. an aggregate over the matches, grouped by category path and price bucket. Like the
       list's ``count``, it stops at ``NEXUS_SHOP_EXACT_COUNT_LIMIT`` matches: past that,
       ``count_exact`` is false and the counts are those of the first matches found
       (their shape, not totals); and
    2. the categories to name: the top level, and the filtered category with its children.

    Counts roll up the tree: a category counts its own products and its descendants'.
    """
    queryset = _filtered_products(filters=params, viewer=viewer)
    limit = conf.EXACT_COUNT_LIMIT
    bounds = conf.FACET_PRICE_BUCKETS

    if params.q and connection.vendor == "postgresql":
        with search_session(params.q) as session:
            exact = session.exact()
            _, few = count_up_to(queryset.filter(exact.condition), WIDEN_WHEN_FEWER_THAN - 1)
            match = session.widened() if few else exact
            groups, named = _facet_rows(
                queryset.filter(match.condition),
                category=params.category,
                bounds=bounds,
                limit=limit,
            )
    else:
        if params.q:
            queryset = _substring_matches(queryset, params.q)
        groups, named = _facet_rows(queryset, category=params.category, bounds=bounds, limit=limit)
    return _facets(groups, named, params=params, bounds=bounds, limit=limit)


def _facet_rows(
    queryset: QuerySet[Product], *, category: str | None, bounds: tuple[Decimal, ...], limit: int
) -> tuple[list[list[Any]], list[Category]]:
    """``[category path or None, price bucket, count]`` over the first ``limit + 1`` matches,
    and the categories to name, in one statement."""
    bucket = Case(
        *[When(price__lt=bound, then=Value(i)) for i, bound in enumerate(bounds)],
        default=Value(len(bounds)),
        output_field=IntegerField(),
    )
    matches = queryset.order_by().annotate(bucket=bucket).values("category_id", "bucket")
    inner_sql, inner_params = matches[: limit + 1].query.sql_with_params()
    table = connection.ops.quote_name(Category._meta.db_table)
    # SQL built by the ORM and constants; every value is bound.
    sql = (
        f"SELECT c.path, m.bucket, COUNT(*), NULL, NULL, NULL, NULL FROM ({inner_sql}) m "  # noqa: S608
        f"LEFT JOIN {table} c ON c.id = m.category_id GROUP BY c.path, m.bucket "
        f"UNION ALL SELECT path, NULL, NULL, id, name, slug, parent_id FROM {table} "
        f"WHERE parent_id IS NULL OR slug = %s OR parent_id IN "
        f"(SELECT id FROM {table} WHERE slug = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*inner_params, category, category])
        rows = cursor.fetchall()
    groups = [[path, bucket, n] for path, bucket, n, pk, *_ in rows if pk is None]
    named = [
        Category(pk=pk, path=path, name=name, slug=slug, parent_id=parent_id)
        for path, _, _, pk, name, slug, parent_id in rows
        if pk is not None
    ]
    named.sort(key=lambda c: c.path)
    return groups, named


def _facets(
    groups: list[list[Any]],
    named: list[Category],
    *,
    params: ProductFacetsParams,
    bounds: tuple[Decimal, ...],
    limit: int,
) -> ProductFacets:
    total = sum(n for _, _, n in groups)
    exact = total <= limit
    if not exact:  # one row past the limit: leave it out, so the counts add up to `limit`
        max(groups, key=lambda group: group[2])[2] -= 1
        total = limit

    def count_under(path: str) -> int:
        return sum(n for p, _, n in groups if p is not None and p.startswith(path))

    def facet(category: Category) -> CategoryFacet:
        return CategoryFacet(
            id=category.pk, name=category.name, slug=category.slug, count=count_under(category.path)
        )

    roots = [facet(c) for c in named if c.parent_id is None]
    subtree = None
    chosen = next((c for c in named if c.slug == params.category), None)
    if chosen is not None:
        children = [facet(c) for c in named if c.parent_id == chosen.pk]
        subtree = CategorySubtreeFacet(
            **vars(facet(chosen)), children=[c for c in children if c.count]
        )

    per_bucket = [0] * (len(bounds) + 1)
    for _, index, n in groups:
        per_bucket[index] += n
    lows = (Decimal(0), *bounds)
    highs = (*bounds, None)
    return ProductFacets(
        count=total,
        count_exact=exact,
        categories=[root for root in roots if root.count],
        subtree=subtree,
        uncategorized=sum(n for p, _, n in groups if p is None),
        price_buckets=[
            PriceBucket(min=low, max=high, count=n)
            for low, high, n in zip(lows, highs, per_bucket, strict=True)
        ],
    )
