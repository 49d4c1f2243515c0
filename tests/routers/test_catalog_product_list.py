from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from cachalot.api import cachalot_disabled
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nexus_shop.models import Product
from nexus_shop.selectors.search import PLAN_SETTING
from tests.factories import CategoryFactory, ProductFactory
from tests.support.budget import budget

pytestmark = pytest.mark.django_db


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def tree() -> dict[str, Any]:
    """clothing > shoes > running; clothing > hats; electronics."""
    clothing = CategoryFactory(slug="clothing")
    shoes = CategoryFactory(slug="shoes", parent=clothing)
    running = CategoryFactory(slug="running", parent=shoes)
    hats = CategoryFactory(slug="hats", parent=clothing)
    electronics = CategoryFactory(slug="electronics")
    return {
        "clothing": clothing,
        "shoes": shoes,
        "running": running,
        "hats": hats,
        "electronics": electronics,
    }


# Envelope and pagination ----------------------------------------------------------------------


def test_page_mode_envelope(anon: Client) -> None:
    ProductFactory.create_batch(25)
    data = anon.get("/api/products").json()
    assert set(data) == {"items", "count", "count_exact", "page", "page_size", "next_cursor"}
    assert (data["count"], data["count_exact"], data["page"], data["page_size"]) == (
        25,
        True,
        1,
        20,
    )
    assert len(data["items"]) == 20
    assert data["next_cursor"]
    last = anon.get("/api/products?page=2").json()
    assert len(last["items"]) == 5
    assert last["next_cursor"] is None


def test_page_beyond_the_end_is_empty(anon: Client) -> None:
    ProductFactory.create_batch(3)
    data = anon.get("/api/products?page=7").json()
    assert (data["items"], data["count"], data["next_cursor"]) == ([], 3, None)


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page_size=0", "page_size=101", "page=x", "page_size=1.5"],
)
def test_bad_paging_is_422(anon: Client, query: str) -> None:
    response = anon.get(f"/api/products?{query}")
    assert response.status_code == 422
    assert "detail" in response.json()


def test_page_size_100_is_allowed(anon: Client) -> None:
    ProductFactory.create_batch(3)
    assert anon.get("/api/products?page_size=100").json()["page_size"] == 100


@pytest.mark.parametrize(
    "ordering", ["price", "-price", "created_at", "-created_at", "name", "-name"]
)
def test_page_mode_and_cursor_mode_return_the_same_items(anon: Client, ordering: str) -> None:
    now = timezone.now()
    for i in range(23):
        # Duplicate sort values on purpose: ties must be broken by id, stably.
        product = ProductFactory(price=Decimal(i % 4), name=f"Item {i % 5}")
        Product.objects.filter(pk=product.pk).update(created_at=now - timedelta(minutes=i % 3))

    paged: list[int] = []
    for page in range(1, 6):
        paged += ids(anon.get(f"/api/products?ordering={ordering}&page_size=5&page={page}"))

    walked: list[int] = []
    response = anon.get(f"/api/products?ordering={ordering}&page_size=5")
    walked += ids(response)
    while cursor := response.json()["next_cursor"]:
        response = anon.get(f"/api/products?ordering={ordering}&page_size=5&cursor={cursor}")
        data = response.json()
        assert (data["count"], data["count_exact"], data["page"]) == (None, None, None)
        walked += ids(response)

    assert paged == walked
    assert len(walked) == 23 == len(set(walked))


def test_switching_from_page_to_cursor_mode_continues_after_the_page(anon: Client) -> None:
    ProductFactory.create_batch(12)
    all_ids = ids(anon.get("/api/products?page_size=100&ordering=price"))
    page2 = anon.get("/api/products?page_size=4&page=2&ordering=price").json()
    after = ids(anon.get(f"/api/products?page_size=4&ordering=price&cursor={page2['next_cursor']}"))
    assert after == all_ids[8:12]


@pytest.mark.parametrize("cursor", ["garbage", "", "a:b:c", "x" * 1001])
def test_malformed_cursor_is_422(anon: Client, cursor: str) -> None:
    ProductFactory()
    response = anon.get(f"/api/products?cursor={cursor}")
    if cursor == "":
        # An empty cursor is "no cursor": page mode.
        assert response.status_code in {200, 422}
        return
    assert response.status_code == 422


def test_tampered_cursor_is_422(anon: Client) -> None:
    ProductFactory.create_batch(3)
    cursor = anon.get("/api/products?page_size=1").json()["next_cursor"]
    payload, rest = cursor.split(":", 1)
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + rest
    response = anon.get(f"/api/products?page_size=1&cursor={tampered}")
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"].lower()


def test_cursor_for_another_ordering_is_422(anon: Client) -> None:
    ProductFactory.create_batch(3)
    cursor = anon.get("/api/products?page_size=1&ordering=price").json()["next_cursor"]
    response = anon.get(f"/api/products?page_size=1&ordering=name&cursor={cursor}")
    assert response.status_code == 422


def test_a_category_cursor_is_refused_by_the_product_list(anon: Client) -> None:
    CategoryFactory.create_batch(3)
    ProductFactory.create_batch(3)
    cursor = anon.get("/api/categories?page_size=1").json()["next_cursor"]
    assert anon.get(f"/api/products?cursor={cursor}").status_code == 422


# Sorting --------------------------------------------------------------------------------------


def test_default_ordering_is_newest_first(anon: Client) -> None:
    old = ProductFactory()
    new = ProductFactory()
    Product.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert ids(anon.get("/api/products")) == [new.pk, old.pk]


def test_ordering_by_price_and_name(anon: Client) -> None:
    a = ProductFactory(name="Banana", price=Decimal("3.00"))
    b = ProductFactory(name="apple", price=Decimal("1.00"))
    c = ProductFactory(name="Cherry", price=Decimal("2.00"))
    assert ids(anon.get("/api/products?ordering=price")) == [b.pk, c.pk, a.pk]
    assert ids(anon.get("/api/products?ordering=-price")) == [a.pk, c.pk, b.pk]
    names = [i["name"] for i in anon.get("/api/products?ordering=name").json()["items"]]
    assert names == sorted(names)


def test_ties_are_broken_by_id(anon: Client) -> None:
    products = ProductFactory.create_batch(5, price=Decimal("1.00"))
    assert ids(anon.get("/api/products?ordering=price")) == sorted(p.pk for p in products)
    assert ids(anon.get("/api/products?ordering=-price")) == sorted(
        (p.pk for p in products), reverse=True
    )


def test_unknown_ordering_is_422_listing_the_allowed_ones(anon: Client) -> None:
    response = anon.get("/api/products?ordering=stock")
    assert response.status_code == 422
    message = str(response.json()["detail"])
    for allowed in ("price", "-price", "created_at", "-created_at", "name", "-name", "relevance"):
        assert f"'{allowed}'" in message


def test_relevance_needs_q(anon: Client) -> None:
    assert anon.get("/api/products?ordering=relevance").status_code == 422


# Filters --------------------------------------------------------------------------------------


def test_category_filter_includes_descendants(anon: Client, tree: dict[str, Any]) -> None:
    in_running = ProductFactory(category=tree["running"])
    in_shoes = ProductFactory(category=tree["shoes"])
    in_hats = ProductFactory(category=tree["hats"])
    ProductFactory(category=tree["electronics"])
    ProductFactory(category=None)
    assert set(ids(anon.get("/api/products?category=clothing"))) == {
        in_running.pk,
        in_shoes.pk,
        in_hats.pk,
    }
    assert set(ids(anon.get("/api/products?category=shoes"))) == {in_running.pk, in_shoes.pk}
    assert set(ids(anon.get("/api/products?category=running"))) == {in_running.pk}


def test_category_paths_that_share_a_text_prefix_are_not_a_subtree(anon: Client) -> None:
    # Paths such as "/1/" and "/12/" share a text prefix but are not one subtree.
    categories = CategoryFactory.create_batch(13)
    products = {c.pk: ProductFactory(category=c).pk for c in categories}
    for category in categories:
        assert ids(anon.get(f"/api/products?category={category.slug}")) == [products[category.pk]]


def test_unknown_category_gives_an_empty_list(anon: Client) -> None:
    ProductFactory()
    response = anon.get("/api/products?category=no-such-thing")
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["count"] == 0


def test_price_range_and_stock(anon: Client) -> None:
    cheap = ProductFactory(price=Decimal("5.00"), stock=0)
    mid = ProductFactory(price=Decimal("10.00"), stock=3)
    dear = ProductFactory(price=Decimal("20.00"), stock=1)
    assert set(ids(anon.get("/api/products?min_price=10"))) == {mid.pk, dear.pk}
    assert set(ids(anon.get("/api/products?max_price=10.00"))) == {cheap.pk, mid.pk}
    assert set(ids(anon.get("/api/products?min_price=6&max_price=19.99"))) == {mid.pk}
    assert set(ids(anon.get("/api/products?in_stock=true"))) == {mid.pk, dear.pk}
    assert set(ids(anon.get("/api/products?in_stock=false"))) == {cheap.pk}
    items = anon.get("/api/products?in_stock=false").json()["items"]
    assert items[0]["in_stock"] is False


@pytest.mark.parametrize(
    "query", ["min_price=-1", "min_price=abc", "min_price=5&max_price=1", "in_stock=maybe"]
)
def test_bad_filters_are_422(anon: Client, query: str) -> None:
    assert anon.get(f"/api/products?{query}").status_code == 422


def test_filters_combine(anon: Client, tree: dict[str, Any]) -> None:
    hit = ProductFactory(category=tree["running"], price=Decimal("50"), stock=2, name="Fast shoe")
    ProductFactory(category=tree["running"], price=Decimal("50"), stock=0, name="Fast shoe 2")
    ProductFactory(category=tree["hats"], price=Decimal("50"), stock=2, name="Fast hat")
    ProductFactory(category=tree["running"], price=Decimal("5"), stock=2, name="Fast cheap")
    query = "category=shoes&min_price=10&in_stock=true&q=fast"
    assert ids(anon.get(f"/api/products?{query}")) == [hit.pk]


# Search ---------------------------------------------------------------------------------------


def test_search_matches_name_and_description(anon: Client) -> None:
    by_name = ProductFactory(name="Wireless Headphones", description="Over-ear.")
    by_description = ProductFactory(name="Speaker", description="A wireless speaker for parties.")
    ProductFactory(name="Kettle", description="Boils water.")
    assert set(ids(anon.get("/api/products?q=wireless"))) == {by_name.pk, by_description.pk}
    assert set(ids(anon.get("/api/products?q=WIRELESS"))) == {by_name.pk, by_description.pk}


def test_relevance_ranks_name_hits_first(anon: Client) -> None:
    by_description = ProductFactory(name="Speaker", description="wireless wireless")
    by_name = ProductFactory(name="Wireless Headphones", description="Over-ear.")
    assert ids(anon.get("/api/products?q=wireless&ordering=relevance")) == [
        by_name.pk,
        by_description.pk,
    ]


def test_relevance_pages_with_a_cursor(anon: Client) -> None:
    for i in range(7):
        ProductFactory(name=f"Lamp {i}", description="lamp " * (i + 1))
    paged = [
        pk
        for page in (1, 2, 3)
        for pk in ids(anon.get(f"/api/products?q=lamp&ordering=relevance&page_size=3&page={page}"))
    ]
    walked = ids(response := anon.get("/api/products?q=lamp&ordering=relevance&page_size=3"))
    while cursor := response.json()["next_cursor"]:
        walked += ids(
            response := anon.get(
                f"/api/products?q=lamp&ordering=relevance&page_size=3&cursor={cursor}"
            )
        )
    assert paged == walked
    assert len(set(walked)) == 7


@pytest.mark.postgres
def test_postgres_search_is_full_text_with_a_prefix_last_word(anon: Client) -> None:
    phones = ProductFactory(name="Wireless Headphones", description="Noise cancelling.")
    ProductFactory(name="Wired Earbuds", description="Cheap.")
    # Stemming: "cancel" finds "cancelling"; prefix: "head" finds "Headphones".
    assert ids(anon.get("/api/products?q=wireless head")) == [phones.pk]
    assert ids(anon.get("/api/products?q=cancel")) == [phones.pk]
    # websearch syntax: a quoted phrase and a negation.
    assert ids(anon.get('/api/products?q="wireless headphones"')) == [phones.pk]
    assert ids(anon.get("/api/products?q=wireless -headphones")) == []


@pytest.mark.postgres
def test_postgres_search_survives_operator_soup(anon: Client) -> None:
    # tsquery operators are text to the search: no error, and no match where the text
    # does not appear (an operator read as such could match everything, or nothing).
    ProductFactory(name="Thing")
    for q in ["&", "|", "!", "(", ":*", "'", '"', "a & (b", "\\", "%", "_"]:
        response = anon.get("/api/products", {"q": q})
        assert response.status_code == 200, (q, response.content)
        assert (response.json()["items"], response.json()["count"]) == ([], 0), q
    marked = ProductFactory(name="R&D kit (beta) 100%")
    for q in ["&", "(", "%", "R&D"]:
        assert ids(anon.get("/api/products", {"q": q})) == [marked.pk], q


def test_search_treats_wildcards_literally(anon: Client) -> None:
    ProductFactory(name="100% cotton tee")
    ProductFactory(name="Plain tee")
    assert len(ids(anon.get("/api/products", {"q": "100%"}))) == 1
    assert len(ids(anon.get("/api/products", {"q": "%"}))) == 1


# Visibility -----------------------------------------------------------------------------------


def test_the_public_never_sees_deleted_or_inactive(anon: Client, tree: dict[str, Any]) -> None:
    live = ProductFactory(category=tree["shoes"], name="Visible lamp")
    ProductFactory(category=tree["shoes"], name="Hidden lamp", is_active=False)
    ProductFactory(category=tree["shoes"], name="Deleted lamp", deleted_at=timezone.now())
    for query in ["", "?category=shoes", "?q=lamp", "?include_deleted=true"]:
        data = anon.get(f"/api/products{query}").json()
        assert [i["id"] for i in data["items"]] == [live.pk]
        assert data["count"] == 1


def test_staff_see_inactive_and_deleted_on_request(staff_client: Client) -> None:
    live = ProductFactory()
    inactive = ProductFactory(is_active=False)
    deleted = ProductFactory(deleted_at=timezone.now())
    assert set(ids(staff_client.get("/api/products"))) == {live.pk, inactive.pk}
    assert set(ids(staff_client.get("/api/products?include_deleted=true"))) == {
        live.pk,
        inactive.pk,
        deleted.pk,
    }


def test_customers_see_what_the_public_sees(customer_client: Client) -> None:
    live = ProductFactory()
    ProductFactory(is_active=False)
    assert ids(customer_client.get("/api/products?include_deleted=true")) == [live.pk]


# Query count ----------------------------------------------------------------------------------


def _data_queries(captured: CaptureQueriesContext) -> list[str]:
    """The statements that read data: not the planner settings a search sets (PostgreSQL)."""
    return [q["sql"] for q in captured.captured_queries if PLAN_SETTING not in q["sql"]]


@pytest.mark.parametrize("page_size", [1, 20, 100])
def test_a_list_is_at_most_two_queries_whatever_the_page_size(
    anon: Client, tree: dict[str, Any], page_size: int
) -> None:
    for i in range(120):
        ProductFactory(category=tree["running"] if i % 2 else tree["hats"])
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        data = anon.get(f"/api/products?page_size={page_size}&category=clothing&q=product").json()
    assert len(data["items"]) == page_size
    assert len(_data_queries(captured)) <= 2 + PROBE <= budget("product-list")
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        data = anon.get(
            f"/api/products?page_size={page_size}&cursor={data['next_cursor']}"
            "&category=clothing&q=product"
        ).json()
    assert len(data["items"]) == min(page_size, 120 - page_size)
    assert len(_data_queries(captured)) <= 1 + PROBE


# On PostgreSQL a search that might be misspelt first probes (at most 20 rows) whether it
# matches exactly; see selectors.products._search_match.
PROBE = 1


def test_detail_is_within_its_budget(anon: Client, django_assert_max_num_queries: Any) -> None:
    product = ProductFactory(category=CategoryFactory())
    with cachalot_disabled(), django_assert_max_num_queries(budget("product-detail")):
        assert anon.get(f"/api/products/{product.pk}").json()["category"] is not None


def test_backend_is_what_the_run_says(is_postgres: bool) -> None:
    # Guards the CI matrix: the PostgreSQL run must really be on PostgreSQL.
    import os

    expected = os.environ.get("DATABASE_URL", "").startswith("postgres")
    assert is_postgres == expected == (connection.vendor == "postgresql")


@pytest.mark.parametrize("char", ["é", "中", "😀"])
def test_cursors_of_the_longest_names_in_any_script_round_trip(anon: Client, char: str) -> None:
    for i in range(3):
        ProductFactory(name=char * 254 + str(i))
    response = anon.get("/api/products?ordering=name&page_size=1")
    walked = ids(response)
    while cursor := response.json()["next_cursor"]:
        response = anon.get(f"/api/products?ordering=name&page_size=1&cursor={cursor}")
        walked += ids(response)
    assert len(walked) == 3
