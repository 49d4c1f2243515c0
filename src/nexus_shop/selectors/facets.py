"""Facets of the product list: counts per category, price bucket and option value."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    Min,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL

from nexus_shop.conf import conf
from nexus_shop.models import Category, Product, VariantOption
from nexus_shop.schemas.catalog import ProductFacetsParams
from nexus_shop.selectors.pagination import count_up_to
from nexus_shop.selectors.products import VariantFilters, filtered_products, substring_matches
from nexus_shop.selectors.search import (
    PLAN_SETTING,
    WIDEN_WHEN_FEWER_THAN,
    Match,
    search_session,
)
from nexus_shop.selectors.visibility import Viewer, public_categories_sql

MAX_OPTION_VALUES_SHOWN = 50
"""Values shown per option in the facets, the most frequent first."""


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
class OptionValueFacet:
    value: str
    count: int


@dataclass(frozen=True)
class OptionFacet:
    name: str
    values: list[OptionValueFacet]


@dataclass(frozen=True)
class ProductFacets:
    count: int
    count_exact: bool
    categories: list[CategoryFacet]
    subtree: CategorySubtreeFacet | None
    uncategorized: int
    price_buckets: list[PriceBucket]
    options: list[OptionFacet]


def product_facets(*, params: ProductFacetsParams, viewer: Viewer | None) -> ProductFacets:
    """Counts of the products the same filters and ``q`` list: per category, per price
    bucket and per option value.

    A pure function of ``params`` and the viewer's visibility, so it can be cached like the
    list. One statement whatever the tree's size (with ``q`` on PostgreSQL, two: first a
    probe that counts the exact matches up to ``WIDEN_WHEN_FEWER_THAN - 1`` (19), which
    says whether the search widens; see :mod:`nexus_shop.selectors.search`), the
    ``UNION ALL`` of

    1. an aggregate over the matches, grouped by category path and price bucket. Like the
       list's ``count``, it stops at ``NEXUS_SHOP_EXACT_COUNT_LIMIT`` matches: past that,
       ``count_exact`` is false and the counts are those of the first matches found
       (their shape, not totals). A product falls in the bucket of the lowest price among
       its *matching* variants (:meth:`VariantFilters.lowest_matching_price`), once;
    2. the categories to name: the top level, and the filtered category with its children;
    3. the option values, counted *disjunctively* (:func:`_option_rows`): one part for the
       option names the request does not filter on, and one per name it does, counted as
       if that name's own selection were not made. Each stops at the first
       ``NEXUS_SHOP_EXACT_COUNT_LIMIT`` matches too.

    Counts roll up the tree: a category counts its own products and its descendants'.
    """
    variants = VariantFilters.of(params)
    limit = conf.EXACT_COUNT_LIMIT
    bounds = conf.FACET_PRICE_BUCKETS

    if params.q and connection.vendor == "postgresql":
        with search_session(params.q) as session:
            exact = session.exact()
            queryset = filtered_products(filters=params, viewer=viewer)
            _, few = count_up_to(queryset.filter(exact.condition), WIDEN_WHEN_FEWER_THAN - 1)
            match = session.widened() if few else exact
            groups, named, options = _facet_rows(
                params=params, viewer=viewer, variants=variants, match=match, bounds=bounds
            )
    elif connection.vendor == "postgresql":
        # JIT off for this one statement (SET LOCAL): its estimated cost, inflated by a
        # subquery a product, passed jit_above_cost, and compiling it took 0.9 s of 1.4 s
        # (facets?option=size:m at a million products).
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(f"SELECT set_config('jit', 'off', true) {PLAN_SETTING}")
            groups, named, options = _facet_rows(
                params=params, viewer=viewer, variants=variants, match=None, bounds=bounds
            )
    else:
        groups, named, options = _facet_rows(
            params=params, viewer=viewer, variants=variants, match=None, bounds=bounds
        )
    return _facets(groups, named, options, params=params, bounds=bounds, limit=limit)


def _matches(
    *,
    params: ProductFacetsParams,
    viewer: Viewer | None,
    variants: VariantFilters,
    match: Match | None,
) -> QuerySet[Product]:
    """The products ``params`` list, with ``variants`` as their variant filters."""
    queryset = filtered_products(filters=params, viewer=viewer, variants=variants)
    if match is not None:
        return queryset.filter(match.condition)
    if params.q:
        return substring_matches(queryset, params.q)
    return queryset


def _option_rows(
    products: str, variants: VariantFilters, *, name: str | None
) -> tuple[str, tuple[Any, ...]]:
    """SQL for ``[name key, value key, name, value, products]`` rows of one option part.

    ``products`` names the common table of the part's matched product ids. ``name`` is a
    name the request filters on, whose values are counted with ``variants``
    (the filters without that name's selection, so choosing "M" still shows what "L"
    gives), or ``None``: every name the request does not filter on. A product counts for a
    value when one of its matching variants has it, the price and stock filters holding for
    that same variant; with ``in_stock=false``, when none of its matching variants with that
    value has stock. At most :data:`MAX_OPTION_VALUES_SHOWN` values a name, most products
    first.
    """
    in_stock = variants.in_stock
    scope = VariantFilters(variants.options, variants.min_price, variants.max_price, None)
    # Option rows list live, active variants only, with their price and stock: a row is
    # counted from the option rows alone, never from the variants.
    # `products` is one of _facet_rows's own table names (m0, m1...), never input.
    among = RawSQL(f"SELECT {products}.id FROM {products}", ())  # noqa: S608, S611
    rows = VariantOption.objects.filter(product_id__in=among)
    if name is None:
        rows = rows.exclude(name_key__in=sorted(variants.options))
    else:
        rows = rows.filter(name_key=name)
    rows = rows.filter(scope.row_condition(stock=in_stock))
    if in_stock is False:
        stocked = VariantOption.objects.filter(
            product_id=OuterRef("product_id"),
            name_key=OuterRef("name_key"),
            value_key=OuterRef("value_key"),
        ).filter(scope.row_condition(stock=True))
        rows = rows.filter(~Q(Exists(stocked)))
    grouped = (
        rows.order_by()
        .values("name_key", "value_key")
        .annotate(
            shown_name=Min("name"), shown_value=Min("value"), n=Count("product_id", distinct=True)
        )
        .values_list("name_key", "value_key", "shown_name", "shown_value", "n")
    )
    sql, sql_params = grouped.query.sql_with_params()
    # Constants and ORM-built SQL only; every value is bound.
    ranked = (
        "SELECT g.*, ROW_NUMBER() OVER (PARTITION BY g.name_key ORDER BY g.n DESC, "  # noqa: S608
        f"g.value_key) AS rn FROM ({sql}) g"
    )
    return (
        "SELECT 2, r.name_key, r.value_key, r.shown_name, r.shown_value, "  # noqa: S608
        f"CAST(NULL AS BIGINT), r.n, CAST(NULL AS BIGINT) FROM ({ranked}) r "
        f"WHERE r.rn <= {MAX_OPTION_VALUES_SHOWN}",
        tuple(sql_params),
    )


def _facet_rows(
    *,
    params: ProductFacetsParams,
    viewer: Viewer | None,
    variants: VariantFilters,
    match: Match | None,
    bounds: tuple[Decimal, ...],
) -> tuple[list[list[Any]], list[Category], list[list[Any]]]:
    """``[category path or None, price bucket, count]`` over the first ``limit + 1``
    matches, the categories to name, and the option rows, in one statement."""
    limit = conf.EXACT_COUNT_LIMIT
    queryset = _matches(params=params, viewer=viewer, variants=variants, match=match)
    # Each set of matched products is a common table, materialised once: its first
    # `limit + 1` ids (and the main set's category and lowest price). The option rows are
    # read from those ids through the (product, name) index; left to join them itself,
    # the planner drove a price filter's option rows from every variant of the catalogue
    # (2 million rows, 5 s for facets?q=lamp&max_price=500).
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    matches = (
        queryset.order_by()
        .annotate(lowest=variants.lowest_matching_price())
        .values("pk", "category_id", "lowest")
    )
    main_sql, main_params = matches[: limit + 1].query.sql_with_params()
    tables = [f"m0 (id, category_id, lowest) AS {materialized}({main_sql})"]
    sql_params: list[Any] = [*main_params]
    option_parts: list[tuple[str | None, VariantFilters]] = [(None, variants)]
    option_parts += [(name, variants.without(name)) for name in variants.options]
    option_sql: list[str] = []
    option_params: list[Any] = []
    for index, (name, scope) in enumerate(option_parts):
        table = "m0"
        if name is not None or variants.in_stock is False:
            table = f"m{index + 1}"
            products = _matches(
                params=params, viewer=viewer, variants=_without_stock_false(scope), match=match
            )
            part_sql, part_params = (
                products.order_by().values("pk")[: limit + 1].query.sql_with_params()
            )
            tables.append(f"{table} (id) AS {materialized}({part_sql})")
            sql_params += part_params
        part_sql, part_params = _option_rows(table, scope, name=name)
        option_sql.append(part_sql)
        option_params += part_params
    # The bucket from the lowest price, computed once a product: as a CASE over the
    # annotation, the ORM repeated the price's subquery in every WHEN (up to eight
    # lookups of a product's variants instead of one).
    bucket = " ".join(f"WHEN m0.lowest < CAST(%s AS NUMERIC) THEN {i}" for i in range(len(bounds)))
    category = connection.ops.quote_name(Category._meta.db_table)
    # Live categories only (a deleted one may share a live one's slug). The condition
    # names the table, so in the subquery it is the subquery's own row it tests.
    live, live_params = public_categories_sql()
    null_text, null_int = "CAST(NULL AS TEXT)", "CAST(NULL AS BIGINT)"
    # SQL built by the ORM and constants; every value is bound.
    parts = [
        f"SELECT 0, c.path, {null_text}, {null_text}, {null_text}, m.bucket, COUNT(*), "  # noqa: S608
        f"{null_int} FROM (SELECT m0.category_id, CASE {bucket} ELSE {len(bounds)} END "
        f"AS bucket FROM m0) m "
        f"LEFT JOIN {category} c ON c.id = m.category_id GROUP BY c.path, m.bucket",
        f"SELECT 1, path, name, slug, {null_text}, id, {null_int}, parent_id FROM {category} "  # noqa: S608
        f"WHERE {live} AND (parent_id IS NULL OR slug = %s OR parent_id IN "
        f"(SELECT id FROM {category} WHERE {live} AND slug = %s))",
        *option_sql,
    ]
    sql_params += [
        *bounds,
        *live_params,
        params.category,
        *live_params,
        params.category,
        *option_params,
    ]
    sql = f"WITH {', '.join(tables)} {' UNION ALL '.join(parts)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, sql_params)
        rows = cursor.fetchall()
    groups = [[path, bucket, n] for kind, path, _, _, _, bucket, n, _ in rows if kind == 0]
    named = [
        Category(pk=pk, path=path, name=name, slug=slug, parent_id=parent_id)
        for kind, path, name, slug, _, pk, _, parent_id in rows
        if kind == 1
    ]
    named.sort(key=lambda c: c.path)
    options = [[*row[1:5], row[6]] for row in rows if row[0] == 2]
    return groups, named, options


def _without_stock_false(variants: VariantFilters) -> VariantFilters:
    """``in_stock=false`` is per option value (see :func:`_option_rows`): the part's
    products are taken without it, and each value's rows apply it."""
    if variants.in_stock is False:
        return VariantFilters(variants.options, variants.min_price, variants.max_price, None)
    return variants


def _option_facets(rows: list[list[Any]]) -> list[OptionFacet]:
    """The option rows as facets: names by how many products they count, values by count."""
    by_name: dict[str, tuple[list[str], list[tuple[int, str, str]]]] = {}
    for name_key, value_key, name, value, n in rows:
        names, values = by_name.setdefault(name_key, ([], []))
        names.append(name)
        values.append((n, value_key, value))
    facets = []
    for names, values in by_name.values():
        values.sort(key=lambda v: (-v[0], v[1]))
        facets.append(
            OptionFacet(
                name=min(names), values=[OptionValueFacet(value=v, count=n) for n, _, v in values]
            )
        )
    facets.sort(key=lambda f: (-max(v.count for v in f.values), f.name.casefold()))
    return facets


def _facets(
    groups: list[list[Any]],
    named: list[Category],
    options: list[list[Any]],
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
        options=_option_facets(options),
    )
