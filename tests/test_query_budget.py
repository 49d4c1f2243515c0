"""The query budget (docs/architecture.md): a fixed number of statements whatever the page holds.

Each public read runs at most its budget, and a list runs the same number of statements
for a page of 1 product or 50, of products with 1 variant or 12: a query per product (an
N+1) would fail here before it reached a benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from cachalot.api import cachalot_disabled
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nexus_shop.http_cache.reads import ReadKind
from nexus_shop.services import events
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.catalog import product_create, product_update
from nexus_shop.services.checkout import checkout
from tests.factories import CategoryFactory, UserFactory
from tests.support.budget import budget, budgets, data_statements

pytestmark = pytest.mark.django_db

SIZES = ["M", "L", "S", "XS", "XL", "XXL"]
COLOURS = ["Red", "Blue"]


def make_products(count: int, *, variants: int, category: Any = None) -> None:
    """``count`` products of ``variants`` variants each (0: one default variant, no
    options), via the services, as a shop makes them."""
    for i in range(count):
        if variants == 0:
            product_create(
                name=f"Mug {i}",
                sku=f"MUG-{variants}-{i}",
                price=Decimal("9.50"),
                stock=3,
                category_id=category and category.pk,
            )
            continue
        combos = [(s, c) for c in COLOURS for s in SIZES][:variants]
        product_create(
            name=f"Tee {i}",
            sku=f"TEE-{variants}-{i}",
            category_id=category and category.pk,
            options=[{"name": "Size", "values": SIZES}, {"name": "Colour", "values": COLOURS}],
            variants=[
                {
                    "sku": f"TEE-{variants}-{i}-{s}-{c}",
                    "options": {"Size": s, "Colour": c},
                    "price": Decimal(10 + n),
                    "stock": (n + 1) % 3,
                }
                for n, (s, c) in enumerate(combos)
            ],
        )


def statements(client: Client, url: str) -> int:
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(data_statements(captured))


def test_the_table_names_every_cached_read() -> None:
    assert set(budgets()) == {kind.value for kind in ReadKind}


LIST_URLS = [
    "/api/products?page_size={size}",
    "/api/products?page_size={size}&category=clothing&ordering=price",
    "/api/products?page_size={size}&min_price=5&max_price=30&in_stock=true",
    "/api/products?page_size={size}&option=size:m&option=size:l&option=colour:red",
    "/api/products?page_size={size}&q=tee&ordering=relevance",
    "/api/products?page_size={size}&q=tee&option=colour:red",
]


@pytest.mark.parametrize("url", LIST_URLS)
def test_a_list_page_runs_the_same_statements_whatever_its_size_or_its_variants(
    anon: Client, url: str
) -> None:
    clothing = CategoryFactory(slug="clothing")
    make_products(50, variants=12, category=clothing)
    counts = {size: statements(anon, url.format(size=size)) for size in (1, 50)}
    assert counts[1] == counts[50] <= budget("product-list"), counts


@pytest.mark.parametrize("url", LIST_URLS)
def test_a_list_of_products_with_twelve_variants_runs_what_one_of_single_ones_does(
    anon: Client, url: str
) -> None:
    clothing = CategoryFactory(slug="clothing")
    make_products(20, variants=1, category=clothing)
    single = statements(anon, url.format(size=20))
    make_products(20, variants=12, category=clothing)
    twelve = statements(anon, url.format(size=20))
    assert single == twelve <= budget("product-list")


def test_a_detail_is_within_budget_whatever_its_variants(anon: Client) -> None:
    make_products(1, variants=0)
    make_products(1, variants=1)
    make_products(1, variants=12)
    ids = [item["id"] for item in anon.get("/api/products").json()["items"]]
    counts = [statements(anon, f"/api/products/{pk}") for pk in ids]
    assert counts[0] == counts[1] == counts[2] <= budget("product-detail")


@pytest.mark.parametrize(
    "query",
    ["", "category=clothing", "option=size:m&option=colour:red&in_stock=true", "q=tee"],
)
def test_facets_are_within_budget_whatever_the_options(anon: Client, query: str) -> None:
    clothing = CategoryFactory(slug="clothing")
    make_products(5, variants=0, category=clothing)
    make_products(5, variants=12, category=clothing)
    assert statements(anon, f"/api/products/facets?{query}") <= budget("product-facets")


# Writes: what the outbox adds -------------------------------------------------------------------
#
# Writes have no budget table; what is checked here is what the events add to them, measured
# against the same call with events suppressed (which builds no payload and writes nothing).
# An event is one statement on PostgreSQL (the stream's upsert inside the event's INSERT)
# and two elsewhere. Its payload costs a product write the detail's two reads of the
# variants and the images (the service's own, up-to-date instance of the product is
# rendered, its row not read again), and checkout nothing: order.created is rendered from
# the rows checkout holds in memory.

DETAIL_READS = 2  # variants, images


def outbox_statements() -> int:
    return 1 if connection.vendor == "postgresql" else 2


def write_statements(call: Callable[[], Any]) -> int:
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def with_and_without_events(call: Callable[[], Any]) -> tuple[int, int]:
    with events.suppressed():
        quiet = write_statements(call)
    return write_statements(call), quiet


def test_an_event_adds_a_product_write_two_reads_and_the_outboxs_statements() -> None:
    product = product_create(name="Mug", sku="MUG", price=Decimal("9.50"), stock=3)

    loud, quiet = with_and_without_events(lambda: product_update(product_id=product.pk, name="Mug"))

    assert loud - quiet == DETAIL_READS + outbox_statements()


def buyer_of(product: Any, key: str) -> Callable[[], object]:
    """A new buyer with one unit of ``product`` in the cart; calling the result checks out."""
    buyer = UserFactory()
    cart_add_item(holder=Holder(user=buyer, token=None), product_id=product.pk, quantity=1)
    return lambda: checkout(user=buyer, cart_token=None, idempotency_key=key, render=lambda o: {})


def test_order_created_adds_checkout_the_outboxs_statements_and_no_read() -> None:
    product = product_create(name="Mug", sku="MUG", price=Decimal("9.50"), stock=100)

    with events.suppressed():
        quiet = write_statements(buyer_of(product, "quiet"))
    loud = write_statements(buyer_of(product, "loud"))

    assert loud - quiet == outbox_statements()


def test_a_sale_that_crosses_zero_adds_one_event_more() -> None:
    first, last = (
        product_create(name=f"Mug {n}", sku=f"MUG-{n}", price=Decimal("9.50"), stock=1)
        for n in range(2)
    )

    with events.suppressed():
        quiet = write_statements(buyer_of(first, "quiet"))
    loud = write_statements(buyer_of(last, "loud"))

    assert loud - quiet == 2 * outbox_statements()  # order.created, inventory.out_of_stock
