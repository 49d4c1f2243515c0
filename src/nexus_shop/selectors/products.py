"""Reads of products: one product, and the filtered, searched, sorted pages of them."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
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
from django.db.models.lookups import IsNull
from django.db.models.sql.compiler import SQLCompiler

from nexus_shop import instruments, tracing
from nexus_shop.conf import conf
from nexus_shop.exceptions import NotFound
from nexus_shop.models import Product, ProductImage, ProductVariant, VariantOption
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
from nexus_shop.selectors.visibility import (
    Viewer,
    is_catalogue_staff,
    visible_categories,
    visible_products,
)

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


def attach_detail(products: Sequence[Product], *, staff: bool) -> None:
    """Attach ``shown_variants`` and ``shown_images`` to ``products``: two statements.

    Staff see every live variant, the public the active ones; images show to everyone,
    each naming only the variants shown with it.
    """
    ids = [p.pk for p in products]
    variants = ProductVariant.objects.filter(product_id__in=ids)
    if not staff:
        variants = variants.filter(is_active=True)
    by_product: dict[int, list[Any]] = {pk: [] for pk in ids}
    for variant in variants.order_by("position", "id"):
        by_product[variant.product_id].append(variant)
    images: dict[int, list[ProductImage]] = {pk: [] for pk in ids}
    if ids:
        for image in ProductImage.objects.filter(product_id__in=ids).order_by("position", "id"):
            images[image.product_id].append(image)
    for product in products:
        product.shown_variants = by_product[product.pk]
        shown = {v.pk for v in product.shown_variants}
        product.shown_images = images[product.pk]
        for image in product.shown_images:
            image.variant_ids = [pk for pk in image.variant_ids if pk in shown]


def product_get(
    *, product_id: int, viewer: Viewer | None, include_deleted: bool = False
) -> Product:
    """One product with its category, variants and images: three statements."""
    queryset = visible_products(viewer=viewer, include_deleted=include_deleted)
    try:
        product = queryset.select_related("category").get(pk=product_id)
    except Product.DoesNotExist:
        raise NotFound(f"No product with id {product_id}.") from None
    attach_detail([product], staff=is_catalogue_staff(viewer))
    return product


def product_written(*, product_id: int, current: Product | None = None) -> Product:
    """A product as its writer reads it back: any state, every live variant.

    ``current`` is the writing service's own instance, up to date in every column with its
    category loaded (``product_create``, ``product_update``, ``product_restore`` return
    one): its row is not read again, and when the service already attached its detail (to
    render its event, :mod:`nexus_shop.services.event_payloads`) nothing is read at all.
    """
    if current is not None:
        if not hasattr(current, "shown_variants"):
            attach_detail([current], staff=True)
        return current
    try:
        product = Product.all_objects.select_related("category").get(pk=product_id)
    except Product.DoesNotExist:
        raise NotFound(f"No product with id {product_id}.") from None
    attach_detail([product], staff=True)
    return product


def product_list(*, filters: ProductFilter, viewer: Viewer | None) -> Page[Product]:
    queryset = filtered_products(filters=filters, viewer=viewer).select_related("category")
    request = PageRequest.of(filters)

    if not filters.q:
        sort = PRODUCT_SORTS[filters.ordering]
        return paginate(queryset, sort=sort, request=request, scope="products")

    start = time.perf_counter()
    widened = False
    # The span says whether the search widened, never what was searched for.
    with tracing.span("search") as span:
        try:
            page, widened = _product_search(queryset, filters.q, filters=filters, request=request)
        finally:
            instruments.SEARCH_DURATION.observe(time.perf_counter() - start)
        span.set("widened", widened)
    if widened:
        instruments.SEARCHES_WIDENED.inc()
    return page


def _product_search(
    queryset: QuerySet[Product], q: str, *, filters: ProductFilter, request: PageRequest
) -> tuple[Page[Product], bool]:
    """A page of the products matching ``q``, and whether the search widened."""
    ranked = filters.ordering == "relevance"
    if connection.vendor != "postgresql":
        sort = RELEVANCE_SORT_OTHER if ranked else PRODUCT_SORTS[filters.ordering]
        queryset = _substring_search(queryset, q)
        return paginate(queryset, sort=sort, request=request, scope="products"), False

    with search_session(q) as session:
        if ranked and request.cursor is None:
            # One statement: the page carries the count of the rank window, which also
            # says whether the search must widen (then, one more page query).
            page = _search_page(queryset, session.exact(), filters=filters, request=request)
            if not page.count_exact or (page.count or 0) >= WIDEN_WHEN_FEWER_THAN:
                return page, False
            page = _search_page(queryset, session.widened(), filters=filters, request=request)
            return page, True
        match, counted = _search_match(queryset, session, request=request)
        page = _search_page(
            queryset,
            match,
            filters=filters,
            request=request,
            counted=counted,
            # Ordered by a column: walk that column's index once the count shows the
            # matches are many (under a category too: see the docs' performance page).
            after_count=None if ranked else session.walk_sort_index_if_common,
        )
        return page, session.was_widened


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


def _sku_matches(q: str) -> QuerySet[ProductVariant, Any]:
    """The products (``product_id``) of the live, active variants whose sku is exactly ``q``."""
    return ProductVariant.objects.filter(sku=q, is_active=True).values("product_id")


def substring_matches(queryset: QuerySet[Product], q: str) -> QuerySet[Product]:
    """Other databases: the products whose name, description or option values hold ``q``
    (any case), or with a variant whose sku is ``q`` exactly."""
    return queryset.filter(
        Q(name__icontains=q)
        | Q(description__icontains=q)
        | Q(option_words__icontains=q)
        | Q(pk__in=_sku_matches(q))
    )


def _substring_search(queryset: QuerySet[Product], q: str) -> QuerySet[Product]:
    """Other databases: :func:`substring_matches`, a variant's exact sku ranked first, then
    name hits."""
    relevance = Case(
        When(pk__in=_sku_matches(q), then=Value(3)),
        When(name__icontains=q, then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return substring_matches(queryset, q).annotate(relevance=relevance)


def filtered_products(
    *, filters: ProductFilterBase, viewer: Viewer | None, variants: VariantFilters | None = None
) -> QuerySet[Product]:
    """What the viewer may see, narrowed by every filter but the search (``q``).

    ``variants`` stands for the variant filters of ``filters`` when given (the facets
    count an option's values without that option's own selection).
    """
    queryset = visible_products(viewer=viewer, include_deleted=filters.include_deleted)
    if filters.category is not None:
        # A deleted category's slug matches nothing, as an unknown one (and none of its
        # descendants is live, nor holds a product).
        subtree = (
            visible_categories()
            .filter(
                path__startswith=Subquery(
                    visible_categories().filter(slug=filters.category).values("path")[:1]
                )
            )
            .values("pk")
        )
        if filters.q and connection.vendor == "postgresql":
            # = ANY(ARRAY(subquery)): the subtree's ids become one value the category
            # index takes in a bitmap scan, ANDed with the search's; as IN (subquery) the
            # planner joined every search match to the categories (0.67 s against 0.1 s
            # for a common word in a small category).
            queryset = queryset.filter(_InArrayOf(F("category_id"), Subquery(subtree)))
        else:
            queryset = queryset.filter(category_id__in=subtree)
    condition = (variants or VariantFilters.of(filters)).product_condition()
    if condition is not None:
        queryset = queryset.filter(condition)
    return queryset


@dataclass(frozen=True)
class VariantFilters:
    """The filters that choose a *variant*: ``option``, ``min_price``, ``max_price``, ``in_stock``.

    The one rule (issue 17): a product matches when **one** of its live, active variants
    matches every option filter (ANDed across names, ORed within a name) *and* the price
    bounds *and* ``in_stock=true``, all at once: "a red M under 20 in stock" is one variant
    that is all of these. ``in_stock=false`` means that some variant matches the rest and
    none of those has stock.

    Without an option filter most products need no look at their variants: the product's
    summary columns (``price``, ``price_max``, ``stock``, refreshed with every variant
    write) *are* its variant's when it has one active variant, and for the others they
    bound what any variant can be (``price <= max_price AND price_max >= min_price``), a
    cheap, indexed pre-filter. Only a product with several active variants that passes it
    is looked at variant by variant (``EXISTS`` over its variants, by their product index).
    """

    options: Mapping[str, frozenset[str]]
    min_price: Decimal | None
    max_price: Decimal | None
    in_stock: bool | None

    @classmethod
    def of(cls, filters: ProductFilterBase) -> VariantFilters:
        return cls(
            options=filters.option_filters,
            min_price=filters.min_price,
            max_price=filters.max_price,
            in_stock=filters.in_stock,
        )

    @property
    def any(self) -> bool:
        return bool(self.options) or self._prices or self.in_stock is not None

    @property
    def _prices(self) -> bool:
        return self.min_price is not None or self.max_price is not None

    def without(self, name: str) -> VariantFilters:
        """The same filters without option ``name``'s (a facet counts its values so)."""
        options = {key: values for key, values in self.options.items() if key != name}
        return VariantFilters(options, self.min_price, self.max_price, self.in_stock)

    def matching_variants(
        self, product: Any = None, *, stock: bool | None = None
    ) -> QuerySet[ProductVariant]:
        """The live, active variants of ``product`` (the outer query's product by
        default) within the prices; with stock (``stock=True``) or without (``False``)
        when asked. Option filters are matched through :meth:`option_rows` instead."""
        variants = ProductVariant.objects.filter(
            product_id=OuterRef("pk") if product is None else product, is_active=True
        )
        if self.min_price is not None:
            variants = variants.filter(price__gte=self.min_price)
        if self.max_price is not None:
            variants = variants.filter(price__lte=self.max_price)
        if stock is not None:
            variants = variants.filter(IN_STOCK if stock else ~IN_STOCK)
        return variants

    def option_rows(
        self, product: Any = None, *, stock: bool | None = None
    ) -> QuerySet[VariantOption]:
        """One option row per matching variant of ``product`` (the outer query's product
        by default): the rows of the first option name filtered on whose variant matches
        the other names, the prices and, when asked, ``stock``.

        Option rows list live, active variants only, with their price and stock
        (:func:`nexus_shop.services.summary.sync_option_rows`): option filters read no
        variant.
        """
        (first, values), *others = sorted(self.options.items())
        rows = VariantOption.objects.filter(
            product_id=OuterRef("pk") if product is None else product,
            name_key=first,
            value_key__in=sorted(values),
        )
        rest = VariantFilters(dict(others), self.min_price, self.max_price, None)
        return rows.filter(rest.row_condition(stock=stock))

    def row_condition(self, *, stock: bool | None = None) -> Q:
        """The condition on an option row (the outer query's) that its variant has one of
        the chosen values of every option name filtered on, is within the prices and, when
        asked, is in stock (``True``) or not (``False``). Empty when nothing is asked."""
        condition = Q()
        for name, values in sorted(self.options.items()):
            condition &= Q(
                Exists(
                    VariantOption.objects.filter(
                        variant_id=OuterRef("variant_id"),
                        name_key=name,
                        value_key__in=sorted(values),
                    )
                )
            )
        if self.min_price is not None:
            condition &= Q(price__gte=self.min_price)
        if self.max_price is not None:
            condition &= Q(price__lte=self.max_price)
        if stock is not None:
            condition &= Q(in_stock=stock)
        return condition

    def product_condition(self) -> Q | None:
        """The condition on the product row, or ``None`` when no variant filter is given."""
        if not self.any:
            return None
        summary = Q()  # what the summary columns say, for every product
        if self.min_price is not None:
            summary &= Q(price_max__gte=self.min_price)
        if self.max_price is not None:
            summary &= Q(price__lte=self.max_price)
        if self.in_stock:
            summary &= IN_STOCK
        if not self.options and not self._prices:
            # in_stock alone: the product's stock is the sum of its active variants'.
            return IN_STOCK if self.in_stock else ~IN_STOCK
        if self.options:
            # From the option rows alone (they carry the variant's price and stock): one
            # index probe a product, or a merge of the indexes for a count.
            if self.in_stock is None:
                return summary & Q(Exists(self.option_rows()))
            if self.in_stock:
                return summary & Q(Exists(self.option_rows(stock=True)))
            return (
                summary & Q(Exists(self.option_rows())) & ~Q(Exists(self.option_rows(stock=True)))
            )
        return summary & (self._inside() | (Q(active_variant_count__gt=1) & self._probe()))

    def _inside(self) -> Q:
        """Prices without options: products all of whose active variants are in the price
        range (every single-variant product in it: its ``price == price_max``). Their match
        needs no look at the variants, and the price indexes find them."""
        inside = Q()
        if self.min_price is not None:
            inside &= Q(price__gte=self.min_price)
        if self.max_price is not None:
            inside &= Q(price_max__lte=self.max_price)
        if self.in_stock is not None:
            # All in range: some variant in range has stock exactly when the product does.
            inside &= IN_STOCK if self.in_stock else ~IN_STOCK
        return inside

    def _probe(self) -> Q:
        """The per-variant rule for the few products the summary cannot decide (several
        active variants, straddling a price bound), one index probe a product.

        A scalar subquery, not ``EXISTS``: PostgreSQL may turn an ``EXISTS`` under ``OR``
        into a hashed subplan, which reads every variant of the catalogue (1.6 s at a
        million products, against a millisecond for the probes).
        """

        def found(stock: bool | None) -> Any:
            return Subquery(self.matching_variants(stock=stock).values("pk")[:1])

        if self.in_stock is None:
            return Q(IsNull(found(None), False))
        if self.in_stock:
            return Q(IsNull(found(True), False))
        return Q(IsNull(found(None), False)) & Q(IsNull(found(True), True))

    def lowest_matching_price(self) -> Any:
        """The lowest price among a product's matching variants, as an expression on the
        product row: what a price facet buckets a product by."""
        if not self.options and self.min_price is None and not self.in_stock:
            # Every active variant matches, or (max_price) the cheapest one does whenever
            # any does: the product's own price, with no look at its variants.
            return F("price")
        stock = True if self.in_stock else None
        if self.options:
            return Subquery(self.option_rows(stock=stock).order_by("price").values("price")[:1])
        lowest = Subquery(self.matching_variants(stock=stock).order_by("price").values("price")[:1])
        # Without options, a product's one active variant has the product's price.
        return Case(When(active_variant_count__lte=1, then=F("price")), default=lowest)
