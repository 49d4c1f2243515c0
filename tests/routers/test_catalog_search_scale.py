"""Issue 12: bounded counts, the page-mode depth limit, typo-tolerant and bounded-rank search,
and facet counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from cachalot.api import cachalot_disabled
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nexus_shop.models import Product
from nexus_shop.selectors.search import PLAN_SETTING
from nexus_shop.services import catalog as services
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# Counts ---------------------------------------------------------------------------------------


def test_count_is_exact_up_to_the_limit(anon: Client, settings: Any) -> None:
    settings.NEXUS_SHOP_EXACT_COUNT_LIMIT = 5
    ProductFactory.create_batch(5)
    data = anon.get("/api/products?page_size=2").json()
    assert (data["count"], data["count_exact"]) == (5, True)


def test_count_past_the_limit_is_the_limit_and_says_so(anon: Client, settings: Any) -> None:
    settings.NEXUS_SHOP_EXACT_COUNT_LIMIT = 5
    ProductFactory.create_batch(8)
    data = anon.get("/api/products?page_size=2").json()
    assert (data["count"], data["count_exact"]) == (5, False)
    assert len(data["items"]) == 2
    # Pages past the capped count still answer: the count is a lower bound.
    data = anon.get("/api/products?page_size=2&page=4").json()
    assert len(data["items"]) == 2
    assert data["next_cursor"] is None


def test_cursor_mode_runs_no_count(anon: Client) -> None:
    ProductFactory.create_batch(4)
    cursor = anon.get("/api/products?page_size=2").json()["next_cursor"]
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        data = anon.get(f"/api/products?page_size=2&cursor={cursor}").json()
    assert (data["count"], data["count_exact"]) == (None, None)
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)


# Deep pages -----------------------------------------------------------------------------------


def test_page_mode_stops_at_the_limit_and_points_to_cursors(anon: Client, settings: Any) -> None:
    settings.NEXUS_SHOP_PAGE_MODE_MAX_ITEMS = 6
    ProductFactory.create_batch(10)
    assert anon.get("/api/products?page_size=3&page=2").status_code == 200  # items 4-6
    response = anon.get("/api/products?page_size=3&page=3")  # items 7-9: past the limit
    assert response.status_code == 422
    assert "next_cursor" in response.json()["detail"]
    # The same items are a cursor away.
    cursor = anon.get("/api/products?page_size=3&page=2").json()["next_cursor"]
    assert len(ids(anon.get(f"/api/products?page_size=3&cursor={cursor}"))) == 3


def test_the_default_limit_is_ten_thousand_items(anon: Client) -> None:
    assert anon.get("/api/products?page_size=100&page=100").status_code == 200
    assert anon.get("/api/products?page_size=100&page=101").status_code == 422
    assert anon.get("/api/products?page_size=20&page=501").status_code == 422


# Search quality -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_one_edit_typo_finds_the_product(anon: Client) -> None:
    phones = ProductFactory(name="Aurora Wireless Headphones", description="Over-ear.")
    ProductFactory(name="Ceramic Kettle", description="Boils water.")
    for typo in ["headphnes", "headphomes", "headphonnes", "wireles headphones"]:
        assert ids(anon.get("/api/products", {"q": typo})) == [phones.pk], typo


@pytest.mark.postgres
def test_typo_matches_rank_below_exact_matches(anon: Client, settings: Any) -> None:
    # Fewer exact matches than the probe's threshold, so misspellings are looked for too.
    exact = ProductFactory(name="Speakers for parties", description="Loud.")
    near = ProductFactory(name="Speekers of brass", description="Quiet.")
    ProductFactory(name="Ceramic Kettle", description="Boils water.")
    assert ids(anon.get("/api/products?q=speakers&ordering=relevance")) == [exact.pk, near.pk]


@pytest.mark.postgres
def test_a_common_word_does_not_pull_in_lookalikes(anon: Client) -> None:
    # 20+ exact matches: misspellings are not looked for, so "Speekers" stays out.
    exact = [ProductFactory(name=f"Speakers {i}") for i in range(20)]
    ProductFactory(name="Speekers of brass")
    found = set(ids(anon.get("/api/products?q=speakers&page_size=50")))
    assert found == {p.pk for p in exact}


@pytest.mark.postgres
def test_prefixes_find_words_as_they_are_typed(anon: Client) -> None:
    phones = ProductFactory(name="Aurora Wireless Headphones", description="Over-ear.")
    kettle = ProductFactory(name="Ceramic Kettle", description="Boils water quickly.")
    assert ids(anon.get("/api/products?q=head")) == [phones.pk]
    assert ids(anon.get("/api/products?q=wireless headph")) == [phones.pk]
    assert ids(anon.get("/api/products?q=boils wat")) == [kettle.pk]
    assert ids(anon.get("/api/products?q=ket&ordering=relevance")) == [kettle.pk]


@pytest.mark.postgres
def test_relevance_orders_name_over_description_over_substring_over_typo(
    anon: Client,
) -> None:
    by_name = ProductFactory(name="Lantern of oak", description="Warm light.")
    by_description = ProductFactory(name="Floor light", description="A lantern for reading.")
    by_substring = ProductFactory(name="Minilantern", description="Linen.")
    by_typo = ProductFactory(name="Lanturn of brass", description="A typo in the name.")
    ProductFactory(name="Ceramic Kettle", description="Boils water.")
    assert ids(anon.get("/api/products?q=lantern&ordering=relevance")) == [
        by_name.pk,
        by_description.pk,
        by_substring.pk,
        by_typo.pk,
    ]


@pytest.mark.postgres
def test_the_stored_vector_follows_writes(anon: Client) -> None:
    product = ProductFactory(name="Plain mug", description="Holds tea.")
    assert ids(anon.get("/api/products?q=mug")) == [product.pk]
    services.product_update(product_id=product.pk, name="Plain cup", description="Holds coffee.")
    assert ids(anon.get("/api/products?q=mug")) == []
    assert ids(anon.get("/api/products?q=coffee")) == [product.pk]
    # A bulk UPDATE of the text (no service) keeps it current too: a trigger maintains it.
    Product.objects.filter(pk=product.pk).update(description="Holds cocoa.")
    assert ids(anon.get("/api/products?q=cocoa")) == [product.pk]


@pytest.mark.postgres
def test_relevance_ranks_a_bounded_window(anon: Client, settings: Any) -> None:
    settings.NEXUS_SHOP_SEARCH_RANK_WINDOW = 4
    for i in range(7):
        ProductFactory(name=f"Lamp {i}", description="lamp " * (i + 1))
    data = anon.get("/api/products?q=lamp&ordering=relevance&page_size=3").json()
    assert (data["count"], data["count_exact"]) == (4, True)
    walked = [item["id"] for item in data["items"]]
    while cursor := data["next_cursor"]:
        data = anon.get(f"/api/products?q=lamp&ordering=relevance&page_size=3&cursor={cursor}")
        data = data.json()
        walked += [item["id"] for item in data["items"]]
    assert len(walked) == len(set(walked)) == 4
    # Other orderings list every match.
    assert anon.get("/api/products?q=lamp&ordering=price").json()["count"] == 7


# Facets ---------------------------------------------------------------------------------------


@pytest.fixture
def shop() -> dict[str, Any]:
    """clothing > shoes > running; clothing > hats; electronics; with priced products."""
    clothing = CategoryFactory(slug="clothing", name="Clothing")
    shoes = CategoryFactory(slug="shoes", name="Shoes", parent=clothing)
    running = CategoryFactory(slug="running", name="Running", parent=shoes)
    hats = CategoryFactory(slug="hats", name="Hats", parent=clothing)
    electronics = CategoryFactory(slug="electronics", name="Electronics")
    CategoryFactory(slug="garden", name="Garden")  # no products: left out of the facets
    for price, category in [
        ("5", running),
        ("12", running),
        ("30", shoes),
        ("30", hats),
        ("600", electronics),
        ("2000", electronics),
        ("20", None),
    ]:
        ProductFactory(name="Blue thing", price=Decimal(price), category=category)
    ProductFactory(name="Hidden thing", price=Decimal("7"), category=hats, is_active=False)
    return {"clothing": clothing, "shoes": shoes, "hats": hats, "electronics": electronics}


def _buckets(data: dict[str, Any]) -> list[tuple[str, str | None, int]]:
    return [(b["min"], b["max"], b["count"]) for b in data["price_buckets"]]


def test_facets_count_top_level_categories_and_price_buckets(
    anon: Client, shop: dict[str, Any]
) -> None:
    data = anon.get("/api/products/facets").json()
    assert (data["count"], data["count_exact"], data["uncategorized"]) == (7, True, 1)
    assert [(c["slug"], c["count"]) for c in data["categories"]] == [
        ("clothing", 4),
        ("electronics", 2),
    ]
    assert data["subtree"] is None
    assert _buckets(data) == [
        ("0", "10", 1),
        ("10", "25", 2),
        ("25", "50", 2),
        ("50", "100", 0),
        ("100", "250", 0),
        ("250", "500", 0),
        ("500", "1000", 1),
        ("1000", None, 1),
    ]


def test_facets_follow_the_filters_and_show_the_subtree(anon: Client, shop: dict[str, Any]) -> None:
    data = anon.get("/api/products/facets?category=clothing&max_price=100&q=blue").json()
    assert data["count"] == 4
    assert [(c["slug"], c["count"]) for c in data["categories"]] == [("clothing", 4)]
    subtree = data["subtree"]
    assert (subtree["slug"], subtree["count"], subtree["id"]) == (
        "clothing",
        4,
        shop["clothing"].pk,
    )
    assert {c["slug"]: c["count"] for c in subtree["children"]} == {"shoes": 3, "hats": 1}
    data = anon.get("/api/products/facets?category=shoes&min_price=10").json()
    assert [(c["slug"], c["count"]) for c in data["subtree"]["children"]] == [("running", 1)]
    assert data["count"] == 2


def test_facets_match_the_list(anon: Client, shop: dict[str, Any]) -> None:
    for query in ["", "q=blue", "category=shoes", "in_stock=true&max_price=40", "q=nothing"]:
        listed = anon.get(f"/api/products?{query}").json()
        facets = anon.get(f"/api/products/facets?{query}").json()
        assert facets["count"] == listed["count"], query
        assert sum(b["count"] for b in facets["price_buckets"]) == listed["count"], query
        top = sum(c["count"] for c in facets["categories"]) + facets["uncategorized"]
        assert top == listed["count"], query


def test_facets_honour_the_count_limit(anon: Client, shop: dict[str, Any], settings: Any) -> None:
    settings.NEXUS_SHOP_EXACT_COUNT_LIMIT = 5
    data = anon.get("/api/products/facets").json()
    assert (data["count"], data["count_exact"]) == (5, False)
    assert sum(b["count"] for b in data["price_buckets"]) == 5
    assert sum(c["count"] for c in data["categories"]) + data["uncategorized"] == 5


def test_facets_use_custom_price_buckets(anon: Client, shop: dict[str, Any], settings: Any) -> None:
    settings.NEXUS_SHOP_FACET_PRICE_BUCKETS = (25, 1000)
    assert _buckets(anon.get("/api/products/facets").json()) == [
        ("0", "25", 3),
        ("25", "1000", 3),
        ("1000", None, 1),
    ]


def test_staff_facets_count_inactive_products(staff_client: Client, shop: dict[str, Any]) -> None:
    assert staff_client.get("/api/products/facets").json()["count"] == 8


def test_facets_refuse_what_the_list_refuses(anon: Client) -> None:
    assert anon.get("/api/products/facets?min_price=5&max_price=1").status_code == 422
    assert anon.get("/api/products/facets?page=2").status_code in {200, 422}
    assert anon.get("/api/products/facets?q=" + "x" * 201).status_code == 422


def test_facets_are_two_queries_at_most(anon: Client, shop: dict[str, Any]) -> None:
    for query in ["", "q=blue&category=clothing&max_price=100", "category=shoes"]:
        with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
            assert anon.get(f"/api/products/facets?{query}").status_code == 200
        data_queries = [q for q in captured.captured_queries if PLAN_SETTING not in q["sql"]]
        assert len(data_queries) <= 2, (query, data_queries)
