"""On PostgreSQL with a hundred thousand rows, the list, search and facet queries seek indexes.

Every SQL statement a request runs is EXPLAINed (under the planner settings the request
itself set); none may scan the product table sequentially, and no search may re-parse
text with ``to_tsvector`` per row: it reads the stored ``search_vector``.
"""

from __future__ import annotations

from typing import Any

import pytest
from cachalot.api import cachalot_disabled
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nexus_shop.models import Category
from nexus_shop.selectors.search import PLAN_SETTING
from tests.factories import CategoryFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.slow]

# Big enough that a sequential scan is a real choice the planner weighs (and rejects), and
# that common words match thousands of rows.
ROWS = 100_000

NOUNS = ["lamp", "chair", "table", "sofa", "rug", "headphones", "kettle", "speaker"]
ADJECTIVES = ["wireless", "wooden", "modern", "compact", "vintage", "portable", "ceramic"]
MATERIALS = ["oak wood", "steel frame", "soft wool", "glass top", "recycled plastic"]


@pytest.fixture
def big_catalogue() -> list[Category]:
    roots = [CategoryFactory(slug=f"root-{i}") for i in range(5)]
    leaves = [CategoryFactory(slug=f"leaf-{i}", parent=roots[i % 5]) for i in range(45)]
    categories = roots + leaves
    # One INSERT ... SELECT: the trigger of migration 0004 fills search_vector as it goes.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO nexus_shop_product (name, slug, sku, description, price, price_max,
                currency, stock, active_variant_count, options, thumbnail_file, option_words,
                is_active, category_id, created_at, updated_at)
            SELECT
                initcap((%(adjectives)s::text[])[1 + (i * 7) %% 7] || ' '
                    || (%(nouns)s::text[])[1 + (i * 13) %% 8]) || ' ' || i,
                'p-' || i, 'SKU' || lpad(i::text, 7, '0'),
                (%(materials)s::text[])[1 + (i * 3) %% 5] || ', made to last.',
                ((i * 7919) %% 100000) / 100.0 + 1, ((i * 7919) %% 100000) / 100.0 + 1,
                'USD', (i * 31) %% 21, 1, '[]', '', '',
                (i %% 20) <> 0, (%(categories)s::bigint[])[1 + (i * 17) %% 50],
                now() - make_interval(secs => (i * 97) %% 31536000), now()
            FROM generate_series(1, %(rows)s) AS i
            """,
            {
                "adjectives": ADJECTIVES,
                "nouns": NOUNS,
                "materials": MATERIALS,
                "categories": [c.pk for c in categories],
                "rows": ROWS,
            },
        )
        cursor.execute("ANALYZE nexus_shop_product")
        cursor.execute("ANALYZE nexus_shop_category")
    return categories


def _plans(client: Client, url: str) -> list[tuple[str, str]]:
    """``(sql, plan)`` of every query ``url`` runs, under the settings the request set."""
    # Django 6.1 renamed transaction.savepoint() to savepoint_create().
    sid = getattr(transaction, "savepoint_create", transaction.savepoint)()
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    plans = []
    with connection.cursor() as cursor:
        # Replay in order: the planner settings first, as the request ran them.
        cursor.execute("RESET ALL")
        for query in captured.captured_queries:
            sql = query["sql"]
            if PLAN_SETTING in sql:
                cursor.execute(sql)
                continue
            cursor.execute(f"EXPLAIN {sql}")
            plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    transaction.savepoint_rollback(sid)
    return plans


# (url, whether its COUNT is selective). Counting every live row of an unfiltered list is a
# full count by nature, and the planner rightly scans for it; cursor mode skips the count.
LIST_QUERIES = [
    ("/api/products?page_size=20", False),
    ("/api/products?ordering=price", False),
    ("/api/products?ordering=-price&page=3", False),
    ("/api/products?ordering=name", False),
    ("/api/products?ordering=created_at", False),
    ("/api/products?in_stock=true&ordering=price", False),
    ("/api/products?category=leaf-3&ordering=price", True),
    ("/api/products?category=leaf-3&ordering=-created_at", True),
    ("/api/products?category=root-1&ordering=price", True),
    ("/api/products?min_price=10&max_price=10.50&ordering=price", True),
]

# Every one is selective: a search never scans the table, whatever it counts or sorts.
SEARCHES = [
    "/api/products?q=lamp",
    "/api/products?q=lamp&ordering=relevance",
    "/api/products?q=wireless&ordering=relevance",
    "/api/products?q=wireless speaker&ordering=relevance",
    "/api/products?q=wireless&ordering=price",
    "/api/products?q=wireless&ordering=name&page=5",
    "/api/products?q=oak wo&ordering=-price",
    "/api/products?q=head",
    "/api/products?q=headphnes",
    "/api/products?q=headphnes&ordering=relevance",
    "/api/products?q=speaker&category=root-2&max_price=500",
    "/api/products?q=speaker&category=leaf-7&ordering=relevance",
    "/api/products?q=vintage ceramic kettle&in_stock=true",
    "/api/products/facets?q=lamp",
    "/api/products/facets?q=headphnes",
    "/api/products/facets?q=wireless&category=root-1&max_price=500",
    "/api/products/facets?category=leaf-3",
]


def test_list_queries_seek_indexes_in_page_and_cursor_mode(big_catalogue: Any) -> None:
    client = Client()
    for url, selective in LIST_QUERIES:
        plans = _plans(client, url)
        page = [(sql, plan) for sql, plan in plans if not sql.startswith("SELECT COUNT(*)")]
        assert len(page) == 1, url
        assert len(plans) == 2, url
        checked = plans if selective else page
        for sql, plan in checked:
            assert "Seq Scan on nexus_shop_product" not in plan, (url, sql, plan)

    # Cursor mode: one statement, an index seek, no OFFSET and no COUNT.
    first = client.get("/api/products?ordering=price&page_size=20").json()
    plans = _plans(
        client, f"/api/products?ordering=price&page_size=20&cursor={first['next_cursor']}"
    )
    assert len(plans) == 1
    sql, plan = plans[0]
    assert "OFFSET" not in sql
    assert "COUNT(" not in sql.upper()  # (not the column active_variant_count)
    assert "Index" in plan, plan
    assert "Seq Scan on nexus_shop_product" not in plan, plan


# Selective searches: these must find their rows through the search indexes. (For a word in
# one product of eight, or in a small category, the planner may rightly read the public
# products' or the category's index instead.)
SELECTIVE_SEARCHES = [
    "/api/products?q=headphnes",
    "/api/products?q=vintage ceramic kettle&in_stock=true",
    "/api/products?q=headphnes&ordering=relevance",
    "/api/products/facets?q=headphnes",
]


def test_searches_read_the_stored_vector_through_its_index(big_catalogue: Any) -> None:
    client = Client()
    for url in SELECTIVE_SEARCHES:
        text = "\n".join(plan for _, plan in _plans(client, url))
        assert "nexus_shop_prod_search_all_idx" in text, (url, text)
    for url in SEARCHES:
        plans = _plans(client, url)
        assert plans, url
        for sql, plan in plans:
            assert "Seq Scan on nexus_shop_product" not in plan, (url, sql, plan)
            assert "to_tsvector" not in plan, (url, sql, plan)


def test_search_cursor_pages_seek_too(big_catalogue: Any) -> None:
    client = Client()
    for query in ["q=wireless&ordering=relevance", "q=wireless&ordering=price", "q=lamp"]:
        first = client.get(f"/api/products?{query}").json()
        assert first["next_cursor"], query
        plans = _plans(client, f"/api/products?{query}&cursor={first['next_cursor']}")
        # One statement, the page: the cursor says whether the search widened, so nothing
        # is counted or probed.
        assert len(plans) == 1, (query, [sql for sql, _ in plans])
        assert "COUNT(*)" not in plans[0][0], query
        for sql, plan in plans:
            assert "Seq Scan on nexus_shop_product" not in plan, (query, sql, plan)


def test_a_common_word_counts_up_to_the_limit_only(big_catalogue: Any, settings: Any) -> None:
    settings.NEXUS_SHOP_EXACT_COUNT_LIMIT = 1_000
    data = Client().get("/api/products?q=wireless").json()
    assert (data["count"], data["count_exact"]) == (1_000, False)
    plans = _plans(Client(), "/api/products?q=wireless")
    # One count, in the search's first statement, and the page: the count is not repeated.
    counts = [sql for sql, _ in plans if "COUNT(*)" in sql]
    assert len(counts) == 1, counts
    assert "LIMIT 1001)" in counts[0]
    assert len(plans) == 2, [sql for sql, _ in plans]


def test_a_search_under_a_price_range_ands_the_two_indexes(big_catalogue: Any) -> None:
    # Migration 0007: with both indexes partial on the same predicate, the planner kept one
    # bitmap and filtered the other condition row by row.
    plans = _plans(Client(), "/api/products?q=lamp&min_price=10&max_price=20")
    count_plan = next(plan for sql, plan in plans if "COUNT(*)" in sql)
    assert "BitmapAnd" in count_plan, count_plan
    assert "nexus_shop_prod_search_all_idx" in count_plan, count_plan
    assert "nexus_shop_prod_price_idx" in count_plan, count_plan


def test_a_widened_common_misspelling_ors_the_search_bitmaps(big_catalogue: Any) -> None:
    # "chiar": no exact match, so the search widens to "chair" (in 12,500 products) and the
    # name substring; it counts through their bitmaps ORed, not the bitmap of every public
    # product filtered row by row (the plan a million products got at PostgreSQL's default
    # random_page_cost; see selectors.search.SEARCH_RANDOM_PAGE_COST).
    plans = _plans(Client(), "/api/products?q=chiar")
    counts = [plan for sql, plan in plans if "COUNT(*)" in sql]
    assert len(counts) == 2, counts  # the exact count, then the widened one
    assert "BitmapOr" in counts[1], counts[1]
    assert "nexus_shop_prod_public_idx" not in counts[1], counts[1]
