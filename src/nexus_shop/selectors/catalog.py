"""Reads of the catalogue: visibility rules and query shape live here, once."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Expression, RawSQL
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
from nexus_shop.selectors.pagination import Page, PageRequest, SortKey, paginate


class Viewer(Protocol):
    """Who is looking: a user, ``AnonymousUser``, or anything with these two members."""

    @property
    def is_authenticated(self) -> bool: ...

    def has_perm(self, perm: str, obj: Any = None) -> bool: ...


# PostgreSQL: the stored, GIN-indexed vector (name 'A', description 'B') that migration 0004
# adds and its trigger keeps current. Searches read it; nothing re-parses the text per row.
# "{t}" stands for the product table's alias in the query at hand (see ProductSQL).
SEARCH_VECTOR_SQL = '{t}."search_vector"'
NAME_SQL = '{t}."name"'

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

# Misspellings are looked for only in queries of at least this many letters and digits:
# shorter ones share too few trigrams with anything for a match to mean much.
FUZZY_MIN_LENGTH = 4
# ... and only when fewer products than this match exactly (a typo finds next to nothing).
FUZZY_WHEN_FEWER_THAN = 20
# pg_trgm's word_similarity a misspelling needs (its default, 0.6, misses one wrong letter
# inside a word of seven or eight: "speekers" is 0.5 from "speakers").
FUZZY_THRESHOLD = 0.5

_LAST_WORD = re.compile(r"^(?P<head>.*?)(?P<word>\w+)$", re.DOTALL)


class ProductSQL(RawSQL):
    """Raw SQL over the product row, ``{t}`` naming the product table as the query aliases it.

    ``RawSQL`` is pasted verbatim, so a hard-coded ``"nexus_shop_product"`` inside a
    subquery (where Django aliases the table ``U0``) would silently refer to the outer
    query's row. The search vector is not a model field (SQLite has no ``tsvector``), so
    ``F()`` cannot name it; this resolves the alias when the SQL is compiled. As with
    ``RawSQL``, the SQL text must be constant: user input goes in ``params`` only.
    """

    def as_sql(
        self, compiler: SQLCompiler | None, connection: BaseDatabaseWrapper | None
    ) -> tuple[str, tuple[Any, ...]]:
        if compiler is None:  # django-cachalot reads the SQL of a RawSQL for its table names
            table = f'"{Product._meta.db_table}"'
        else:
            # Django 6.1 renamed SQLCompiler.quote_name_unless_alias() to quote_name().
            quote = getattr(compiler, "quote_name", None) or compiler.quote_name_unless_alias
            table = quote(compiler.query.get_initial_alias())
        return f"({self.sql.replace('{t}', table)})", tuple(self.params)


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

    sort: SortKey
    if not filters.q:
        sort = PRODUCT_SORTS[filters.ordering]
        return paginate(queryset, sort=sort, request=_page_request(filters), scope="products")

    ranked = filters.ordering == "relevance"
    with _search_plans() as plans:
        queryset, sort_relevance = _search(queryset, filters.q, ranked=ranked)
        sort = sort_relevance if ranked else PRODUCT_SORTS[filters.ordering]
        return paginate(
            queryset,
            sort=sort,
            request=_page_request(filters),
            scope="products",
            # Ordered by a column: walk that column's index if the matches are many. Not
            # under a category filter: the planner cannot estimate a subtree's size (it
            # guesses one category) and walks every product of a big one (3.6 s measured).
            after_count=None if ranked or filters.category else plans.walk_sort_index_if_common,
        )


# Matches from which walking a sort index (reading ~page_size x table/matches rows) beats
# fetching every match and sorting them (reading ~matches rows): about sqrt(21 x 1,000,000)
# on a million products, and the count tells which side a search is on.
WALK_SORT_INDEX_FROM = 5_000
# Memory for a search's bitmaps: at 4 MB (PostgreSQL's default) a word in 180,000 products
# ANDed with a category makes them lossy, and every row of the lossy pages is re-checked
# (380,000 rows, 1.3 s measured).
SEARCH_WORK_MEM = "32MB"
# Marks the statements that only set planner options, in logs and for the tests.
PLAN_SETTING = "/* nexus_shop: plan setting */"


class _SearchPlans:
    """Plan choices for one search request (PostgreSQL); see :func:`_search_plans`."""

    def __init__(self, *, active: bool) -> None:
        self.active = active

    def walk_sort_index_if_common(self, count: int | None) -> None:
        """After the count: let the page walk the sort key's index if the search is common.

        ``count`` is None in cursor mode (no count ran): a cursor means there was a next
        page, so leave it to the planner, which walks the index for a common word.
        """
        if self.active and (count is None or count >= WALK_SORT_INDEX_FROM):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT set_config('enable_indexscan', 'on', true) {PLAN_SETTING}")


@contextlib.contextmanager
def _search_plans() -> Iterator[_SearchPlans]:
    """PostgreSQL, while searching: bitmap index scans, not scans that hope to stop early.

    The planner cannot see how much the conditions of a search overlap (the full-text
    match, the name substring and the misspelling find mostly the same rows), so it
    expects several times more matches than there are; under a ``LIMIT`` (the capped
    count, the relevance window, a page), a sequential scan, or a walk of any index, that
    stops after enough matches then looks cheapest. For a word matching 1% of a million
    products that scan reads most of the table: 3.2 s, against 22 ms for the bitmap index
    scan, which reads the matches and no other row. Turning both off with
    ``set_config(..., true)`` (one statement; the settings end with the transaction this
    opens) leaves the planner the bitmap plans. JIT goes off with them: a disabled scan
    kind still costs 10^10 in the planner's sums (PostgreSQL's ``disable_cost``), which
    passes ``jit_above_cost`` and had every such query spend ~0.9 s compiling itself.
    The page query of a search ordered by a column may still walk that column's index once
    the count shows the search is common (:meth:`_SearchPlans.walk_sort_index_if_common`).
    """
    if connection.vendor != "postgresql":
        yield _SearchPlans(active=False)
        return
    # No savepoint: inside a caller's transaction the settings last until that one ends,
    # which changes plans only, never results.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('enable_seqscan', 'off', true), "
            "set_config('enable_indexscan', 'off', true), set_config('jit', 'off', true), "
            f"set_config('work_mem', '{SEARCH_WORK_MEM}', true), "
            f"set_config('pg_trgm.word_similarity_threshold', %s, true) {PLAN_SETTING}",
            [str(FUZZY_THRESHOLD)],
        )
        yield _SearchPlans(active=True)


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


def _search(
    queryset: QuerySet[Product], q: str, *, ranked: bool = False
) -> tuple[QuerySet[Product], SortKey]:
    """Filter by ``q`` and annotate ``relevance``.

    PostgreSQL: full-text search on the stored vector with ``websearch_to_tsquery``
    syntax, the last word matched as a prefix (so "wireless head" finds "headphones"),
    plus two trigram-indexed matches on the name: ``q`` as a substring, and, for a plain
    query (no operators), ``q`` close to a stretch of the name (``word_similarity`` at
    pg_trgm's threshold), so that "headphnes" finds "Headphones". Relevance has three
    tiers: full-text matches by ``ts_rank`` (2 to 3), then name-substring matches (1), then
    misspellings by their similarity (below 1).

    ``ranked`` (``ordering=relevance``) ranks a bounded window, not every match: the first
    ``NEXUS_SHOP_SEARCH_RANK_WINDOW`` matches the indexes yield. A common word matching
    tens of thousands of products then costs a page, not a sort of all of them.

    Elsewhere: a case-insensitive substring match, name hits ranked above description hits.
    """
    queryset = _search_matches(queryset, q)
    if connection.vendor == "postgresql":
        if ranked:
            window = queryset.order_by().values("pk")[: conf.SEARCH_RANK_WINDOW]
            queryset = queryset.filter(pk__in=window)
        return queryset.annotate(relevance=_pg_relevance(q)), RELEVANCE_SORT_PG

    relevance = Case(
        When(name__icontains=q, then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return queryset.annotate(relevance=relevance), RELEVANCE_SORT_OTHER


def _search_matches(queryset: QuerySet[Product], q: str) -> QuerySet[Product]:
    """The products ``q`` finds (see :func:`_search`), unranked.

    PostgreSQL: misspellings are looked for only when the exact matches are fewer than
    ``FUZZY_WHEN_FEWER_THAN``, which one probe of at most that many rows tells. A word
    that is spelt right and common then does not pay for a trigram similarity scan of
    every name that shares letters with it (tens of thousands of rows to re-check).
    """
    if connection.vendor != "postgresql":
        return queryset.filter(Q(name__icontains=q) | Q(description__icontains=q))
    exact = queryset.filter(_pg_matches(q, fuzzy=False))
    if not _fuzzy(q):
        return exact
    probe = exact.order_by().values_list("pk", flat=True)[:FUZZY_WHEN_FEWER_THAN]
    if len(probe) >= FUZZY_WHEN_FEWER_THAN:
        return exact
    return queryset.filter(_pg_matches(q, fuzzy=True))


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fuzzy(q: str) -> bool:
    """Whether to look for misspellings of ``q``: plain words, enough letters for trigrams."""
    words = q.lower().split()
    return (
        '"' not in q
        and "or" not in words
        and not any(word.startswith("-") for word in words)
        and sum(ch.isalnum() for ch in q) >= FUZZY_MIN_LENGTH
    )


def _pg_matches(q: str, *, fuzzy: bool) -> RawSQL:
    tsquery, params = _tsquery(q)
    sql = f"{SEARCH_VECTOR_SQL} @@ {tsquery} OR {NAME_SQL} ILIKE %s"
    params = [*params, _like(q)]
    if fuzzy:
        sql += f" OR %s <%% {NAME_SQL}"  # word_similarity(q, name) >= FUZZY_THRESHOLD
        params.append(q)
    return ProductSQL(sql, params, output_field=BooleanField())


def _pg_relevance(q: str) -> RawSQL:
    tsquery, params = _tsquery(q)
    # ts_rank(..., 32) is rank / (rank + 1): the same order, and below 1 so the tiers hold.
    # float8, so the value read back into a cursor compares exactly (float4 text does not).
    sql = (
        f"(CASE WHEN {SEARCH_VECTOR_SQL} @@ {tsquery} "
        f"THEN 2 + ts_rank({SEARCH_VECTOR_SQL}, {tsquery}, 32) "
        f"WHEN {NAME_SQL} ILIKE %s THEN 1 "
        f"ELSE word_similarity(%s, {NAME_SQL}) * 0.999 END)::float8"
    )
    return ProductSQL(sql, [*params, *params, _like(q), q], output_field=FloatField())


def _tsquery(q: str) -> tuple[str, list[Any]]:
    """SQL for the tsquery of ``q`` and its parameters."""
    match = _LAST_WORD.match(q)
    # A plain last word (not quoted, not negated, not the OR operator) also matches as a prefix.
    if (
        match
        and not match.group("head").rstrip().endswith(("-", '"'))
        and match.group("word").lower() != "or"
        and q.count('"') % 2 == 0
    ):
        head, word = match.group("head"), match.group("word")
        if head.strip():
            return (
                "(websearch_to_tsquery('english', %s) && to_tsquery('english', %s))",
                [head, f"{word}:*"],
            )
        return "to_tsquery('english', %s)", [f"{word}:*"]
    return "websearch_to_tsquery('english', %s)", [q]


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
    list. One statement whatever the tree's size (two when ``q`` may be misspelt: see
    :func:`_search_matches`), the ``UNION ALL`` of

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

    searching = _search_plans() if params.q else contextlib.nullcontext()
    with searching:
        if params.q:
            queryset = _search_matches(queryset, params.q)
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
