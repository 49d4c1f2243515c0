"""Facets of the product list: counts per category and per price bucket, in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, QuerySet, Value, When

from nexus_shop.conf import conf
from nexus_shop.models import Category, Product
from nexus_shop.schemas.catalog import ProductFacetsParams
from nexus_shop.selectors.pagination import count_up_to
from nexus_shop.selectors.products import filtered_products, substring_matches
from nexus_shop.selectors.search import WIDEN_WHEN_FEWER_THAN, search_session
from nexus_shop.selectors.visibility import Viewer


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
    list. One statement whatever the tree's size (with ``q`` on PostgreSQL, two: first a
    probe that counts the exact matches up to ``WIDEN_WHEN_FEWER_THAN - 1`` (19), which
    says whether the search widens; see :mod:`nexus_shop.selectors.search`), the
    ``UNION ALL`` of

    1. an aggregate over the matches, grouped by category path and price bucket. Like the
       list's ``count``, it stops at ``NEXUS_SHOP_EXACT_COUNT_LIMIT`` matches: past that,
       ``count_exact`` is false and the counts are those of the first matches found
       (their shape, not totals); and
    2. the categories to name: the top level, and the filtered category with its children.

    Counts roll up the tree: a category counts its own products and its descendants'.
    """
    queryset = filtered_products(filters=params, viewer=viewer)
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
            queryset = substring_matches(queryset, params.q)
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
