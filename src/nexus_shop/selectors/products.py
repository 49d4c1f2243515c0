"""Reads of products: one product, and the filtered, searched, sorted pages of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Expression
from django.db.models.sql.compiler import SQLCompiler

from nexus_shop.conf import conf
from nexus_shop.exceptions import NotFound
from nexus_shop.models import Category, Product
from nexus_shop.models.catalog import IN_STOCK
from nexus_shop.schemas.catalog import ProductFilter, ProductFilterBase
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
from nexus_shop.selectors.visibility import Viewer, visible_products

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


def product_get(
    *, product_id: int, viewer: Viewer | None, include_deleted: bool = False
) -> Product:
    queryset = visible_products(viewer=viewer, include_deleted=include_deleted)
    try:
        return queryset.select_related("category").get(pk=product_id)
    except Product.DoesNotExist:
        raise NotFound(f"No product with id {product_id}.") from None


def product_list(*, filters: ProductFilter, viewer: Viewer | None) -> Page[Product]:
    queryset = filtered_products(filters=filters, viewer=viewer).select_related("category")
    request = PageRequest.of(filters)

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
    cursor mode, for an older cursor that does not say, a probe counting the exact matches
    up to ``WIDEN_WHEN_FEWER_THAN - 1``.
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


def substring_matches(queryset: QuerySet[Product], q: str) -> QuerySet[Product]:
    """Other databases: the products whose name or description holds ``q`` (any case)."""
    return queryset.filter(Q(name__icontains=q) | Q(description__icontains=q))


def _substring_search(queryset: QuerySet[Product], q: str) -> QuerySet[Product]:
    """Other databases: :func:`substring_matches`, name hits ranked first."""
    relevance = Case(
        When(name__icontains=q, then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return substring_matches(queryset, q).annotate(relevance=relevance)


def filtered_products(*, filters: ProductFilterBase, viewer: Viewer | None) -> QuerySet[Product]:
    """What the viewer may see, narrowed by every filter but the search (``q``)."""
    queryset = visible_products(viewer=viewer, include_deleted=filters.include_deleted)
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
        queryset = queryset.filter(IN_STOCK if filters.in_stock else ~IN_STOCK)
    return queryset
