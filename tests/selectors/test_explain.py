"""On PostgreSQL with tens of thousands of rows, the list queries seek indexes.

Every SQL statement a list request runs is EXPLAINed; none may scan the product table
sequentially.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
from cachalot.api import cachalot_disabled
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nexus_shop.models import Category, Product
from tests.factories import CategoryFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db, pytest.mark.slow]

ROWS = 30_000


@pytest.fixture
def big_catalogue() -> list[Category]:
    rng = random.Random(7)
    roots = [CategoryFactory(slug=f"root-{i}") for i in range(5)]
    leaves = [CategoryFactory(slug=f"leaf-{i}", parent=roots[i % 5]) for i in range(45)]
    categories = roots + leaves
    Product.objects.bulk_create(
        [
            Product(
                name=f"Product {i} {rng.choice(['lamp', 'chair', 'table', 'sofa', 'rug'])}",
                slug=f"p-{i}",
                sku=f"SKU{i:07d}",
                description=rng.choice(["oak wood", "steel frame", "soft wool", "glass top"]),
                price=Decimal(rng.randint(100, 100_000)) / 100,
                currency="USD",
                stock=rng.randint(0, 20),
                is_active=rng.random() > 0.05,
                category=rng.choice(categories),
            )
            for i in range(ROWS)
        ],
        batch_size=5_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE nexus_shop_product")
        cursor.execute("ANALYZE nexus_shop_category")
    return categories


def _plans(client: Client, url: str) -> list[tuple[str, str]]:
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append((query["sql"], "\n".join(row[0] for row in cursor.fetchall())))
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
    ("/api/products?q=lamp&ordering=relevance", True),
    ("/api/products?q=oak wo&ordering=-price", True),
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
    assert "COUNT" not in sql.upper()
    assert "Index" in plan, plan
    assert "Seq Scan on nexus_shop_product" not in plan, plan
