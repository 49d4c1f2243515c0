"""Derived slugs: unique under concurrency, allocated by exact lookups."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nexus_shop.models import Category, Product
from nexus_shop.services import catalog as services
from tests.conftest import bearer
from tests.factories import CategoryFactory, ProductFactory, StaffFactory
from tests.support.race import race

CONCURRENT = 50
ONE = Decimal(1)


def _race_posts(path: str, bodies: list[dict[str, Any]]) -> list[Any]:
    headers = bearer(StaffFactory())

    def post(body: dict[str, Any]) -> Any:
        return Client(headers=headers, raise_request_exception=False).post(
            path, body, content_type="application/json"
        )

    return race([functools.partial(post, body) for body in bodies])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_products_with_the_same_name_all_get_distinct_derived_slugs() -> None:
    bodies = [
        {"name": "Desk Lamp", "sku": f"LAMP-{i}", "price": "1", "stock": 1}
        for i in range(CONCURRENT)
    ]
    answers = _race_posts("/api/products", bodies)
    assert [a.status_code for a in answers] == [201] * CONCURRENT, [
        a.content for a in answers if a.status_code != 201
    ]
    slugs = {a.json()["slug"] for a in answers}
    assert slugs == {"desk-lamp"} | {f"desk-lamp-{n}" for n in range(2, CONCURRENT + 1)}
    assert Product.objects.count() == CONCURRENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_categories_with_the_same_name_all_get_distinct_derived_slugs() -> None:
    answers = _race_posts("/api/categories", [{"name": "Lamps"}] * CONCURRENT)
    assert [a.status_code for a in answers] == [201] * CONCURRENT, [
        a.content for a in answers if a.status_code != 201
    ]
    assert len({a.json()["slug"] for a in answers}) == CONCURRENT
    assert Category.objects.count() == CONCURRENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sent_slug_that_is_taken_is_still_a_409_under_concurrency() -> None:
    bodies = [
        {"name": "Desk Lamp", "slug": "desk-lamp", "sku": f"LAMP-{i}", "price": "1", "stock": 1}
        for i in range(8)
    ]
    statuses = sorted(a.status_code for a in _race_posts("/api/products", bodies))
    assert statuses == [201] + [409] * 7


@pytest.mark.django_db
def test_allocation_looks_up_exact_slugs_not_a_prefix() -> None:
    ProductFactory(slug="a")
    ProductFactory(slug="a-lamp")
    ProductFactory(slug="ab")
    with CaptureQueriesContext(connection) as queries:
        product = services.product_create(name="A", sku="A-1", price=ONE, stock=1)
    assert product.slug == "a-2"
    slug_queries = [q["sql"] for q in queries if '"slug" IN' in q["sql"]]
    assert slug_queries
    assert not [
        q["sql"] for q in queries if "LIKE" in q["sql"].upper() or "GLOB" in q["sql"].upper()
    ]


@pytest.mark.django_db
def test_allocation_skips_taken_numbers_and_cuts_long_bases() -> None:
    for slug in ["lamp", "lamp-2", "lamp-3"]:
        ProductFactory(slug=slug)
    assert services.product_create(name="Lamp", sku="L", price=ONE, stock=1).slug == "lamp-4"
    long = "x" * 200
    CategoryFactory(slug=long)
    category = services.category_create(name=long)
    assert category.slug == "x" * 198 + "-2"
    assert len(category.slug) == 200


@pytest.mark.django_db
def test_many_taken_numbers_are_looked_up_in_batches() -> None:
    for n in range(1, 46):
        ProductFactory(slug="lamp" if n == 1 else f"lamp-{n}")
    with CaptureQueriesContext(connection) as queries:
        product = services.product_create(name="Lamp", sku="L", price=ONE, stock=1)
    assert product.slug == "lamp-46"
    assert len([q for q in queries if '"slug" IN' in q["sql"]]) == 3
