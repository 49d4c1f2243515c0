"""The response cache through its WSGI entry point (``ResponseCacheMiddleware``).

Runs on SQLite + local memory and on PostgreSQL + Redis (the Redis store). Writes run
their on-commit listeners with ``django_capture_on_commit_callbacks(execute=True)``, as
a real commit would; the two-process and fault tests
(tests/heavy/test_response_cache_processes.py) commit for real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from nexus_shop.http_cache.engine import get_engine
from nexus_shop.http_cache.store import RedisStore
from nexus_shop.models import ProductVariant
from nexus_shop.services import catalog as services
from nexus_shop.services.variants import variant_update
from tests.conftest import bearer
from tests.factories import CategoryFactory, ProductFactory, UserFactory
from tests.support.catalogue import tee

CACHED_MIDDLEWARE = ["nexus_shop.http_cache.ResponseCacheMiddleware", *settings.MIDDLEWARE]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def response_cache() -> Iterator[None]:
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default", MIDDLEWARE=CACHED_MIDDLEWARE):
        engine = get_engine()
        assert engine is not None
        # Test databases roll back without committing: start each test from a new epoch.
        assert engine.store.flush()
        yield


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """``commit(fn, *args, **kwargs)``: run a write and its on-commit listeners."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def get(client: Client, url: str, **headers: str) -> Any:
    return client.get(url, headers=headers)


def test_the_store_matches_the_backend() -> None:
    engine = get_engine()
    assert engine is not None
    redis = settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    assert isinstance(engine.store, RedisStore) is redis


def test_a_hot_hit_runs_no_sql(anon: Client, django_assert_num_queries: Any) -> None:
    category = CategoryFactory()
    product = ProductFactory(category=category)
    for url in (
        "/api/products",
        f"/api/products/{product.pk}",
        "/api/categories",
        f"/api/categories/{category.pk}",
    ):
        first = anon.get(url)
        assert first.status_code == 200
        assert first["X-Response-Cache"] == "miss"
        with django_assert_num_queries(0):
            second = anon.get(url)
        assert second.status_code == 200
        assert second["X-Response-Cache"] == "hit"
        assert second.content == first.content
        assert second["ETag"] == first["ETag"]
        assert second["Content-Type"] == "application/json; charset=utf-8"
        assert second["Cache-Control"] == "public, max-age=0, must-revalidate"
        assert second["Vary"] == "Authorization"


def test_if_none_match_gets_304_from_the_cache(
    anon: Client, django_assert_num_queries: Any
) -> None:
    product = ProductFactory()
    url = f"/api/products/{product.pk}"
    first = anon.get(url)
    etag = first["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    with django_assert_num_queries(0):
        cached = get(anon, url, if_none_match=etag)
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached["ETag"] == etag
    assert get(anon, url, if_none_match='"something-else"').status_code == 200


def test_304_on_a_miss_too(anon: Client) -> None:
    ProductFactory()
    etag = anon.get("/api/products")["ETag"]
    get_engine().store.flush()  # type: ignore[union-attr]  # on in this module
    response = get(anon, "/api/products", if_none_match=etag)
    assert response.status_code == 304
    assert response["X-Response-Cache"] == "miss"


def test_keys_come_from_normalised_parameters(anon: Client) -> None:
    ProductFactory(price=Decimal("10.00"))
    first = anon.get("/api/products?min_price=5&ordering=price&utm_source=x")
    assert first["X-Response-Cache"] == "miss"
    for url in (
        "/api/products?ordering=price&min_price=5.00",
        "/api/products?min_price=5.0&ordering=price&page=1&page_size=20&x=1",
        "/api/products?ordering=price&min_price=5&include_deleted=false",
        "/api/products?ordering=price&min_price=5&q=%20",  # q is stripped: no search
    ):
        response = anon.get(url)
        assert response["X-Response-Cache"] == "hit", url
        assert response.content == first.content
    # Every field of the schema is part of the key, even one the anonymous cannot use.
    staff_only = anon.get("/api/products?ordering=price&min_price=5&include_deleted=true")
    assert staff_only["X-Response-Cache"] == "miss"
    assert staff_only.content == first.content


def test_unknown_parameters_make_no_new_entries(anon: Client) -> None:
    ProductFactory()
    anon.get("/api/products")
    for n in range(20):
        assert anon.get(f"/api/products?x={n}")["X-Response-Cache"] == "hit"


def test_invalid_parameters_are_not_cached_and_still_422(anon: Client) -> None:
    for url in ("/api/products?page=0", "/api/products?ordering=relevance", "/api/products?page=x"):
        response = anon.get(url)
        assert response.status_code == 422
        assert response["Cache-Control"] == "no-store"
        assert "X-Response-Cache" not in response
    for _ in range(2):
        missing = anon.get("/api/products/999999999")
        assert missing.status_code == 404
        assert missing["Cache-Control"] == "no-store"
        assert missing["X-Response-Cache"] == "miss"


def test_credentials_never_read_or_fill_the_cache(anon: Client, staff: Any, customer: Any) -> None:
    hidden = ProductFactory(is_active=False)
    ProductFactory()
    anon.get("/api/products")  # the public view is stored
    staff_client = Client(headers=bearer(staff))
    for _ in range(2):
        response = staff_client.get("/api/products")
        assert "X-Response-Cache" not in response
        assert response["Cache-Control"] == "private, max-age=0, must-revalidate"
        assert hidden.pk in [p["id"] for p in response.json()["items"]]
    detail = staff_client.get(f"/api/products/{hidden.pk}")
    assert detail.status_code == 200
    assert "private" in detail["Cache-Control"]
    # The staff view was not stored: the public still gets its own 404 and list.
    assert anon.get(f"/api/products/{hidden.pk}").status_code == 404
    public = anon.get("/api/products")
    assert public["X-Response-Cache"] == "hit"
    assert hidden.pk not in [p["id"] for p in public.json()["items"]]
    # A session cookie counts as credentials too (a host may authenticate by session).
    session_client = Client()
    session_client.force_login(UserFactory())
    assert "X-Response-Cache" not in session_client.get("/api/products")
    # A bad token is a 401, never cached, never served a cached page.
    bad = get(Client(), "/api/products", authorization="Bearer nope")
    assert bad.status_code == 401
    assert bad["Cache-Control"] == "no-store"


def test_disallowed_host_is_still_400(anon: Client) -> None:
    ProductFactory()
    anon.get("/api/products")
    assert anon.get("/api/products", headers={"host": "evil.example"}).status_code == 400


def test_security_headers_are_replayed_on_hits(anon: Client) -> None:
    middleware = [
        "nexus_shop.http_cache.ResponseCacheMiddleware",
        "django.middleware.security.SecurityMiddleware",
        *settings.MIDDLEWARE,
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    ProductFactory()
    with override_settings(MIDDLEWARE=middleware):
        miss = anon.get("/api/products")
        hit = anon.get("/api/products")
    assert hit["X-Response-Cache"] == "hit"
    for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert hit[name] == miss[name]


# Exact invalidation, through every write path --------------------------------------------------


def test_api_write_is_visible_to_the_next_read(
    anon: Client, commit: Callable[..., Any], staff: Any
) -> None:
    product = ProductFactory(name="Old name")
    url = f"/api/products/{product.pk}"
    anon.get(url)
    anon.get("/api/products")
    staff_client = Client(headers=bearer(staff))
    response = commit(
        staff_client.patch, url, data={"name": "New name"}, content_type="application/json"
    )
    assert response.status_code == 200
    detail = anon.get(url)
    assert detail["X-Response-Cache"] == "miss"
    assert detail.json()["name"] == "New name"
    assert anon.get("/api/products").json()["items"][0]["name"] == "New name"


def test_service_write_invalidates(anon: Client, commit: Callable[..., Any]) -> None:
    category = CategoryFactory(name="Shoes")
    product = ProductFactory(category=category, stock=5)
    anon.get(f"/api/products/{product.pk}")
    anon.get(f"/api/categories/{category.pk}")
    commit(services.category_update, category_id=category.pk, name="Boots")
    assert anon.get(f"/api/products/{product.pk}").json()["category"]["name"] == "Boots"
    assert anon.get(f"/api/categories/{category.pk}").json()["name"] == "Boots"
    commit(services.product_soft_delete, product_id=product.pk)
    assert anon.get(f"/api/products/{product.pk}").status_code == 404
    assert anon.get(f"/api/categories/{category.pk}").json()["product_count"] == 0


def test_bulk_update_inside_a_service_invalidates(anon: Client, commit: Callable[..., Any]) -> None:
    """Moving a category rewrites its subtree's paths with one UPDATE: filtered lists follow."""
    old_parent = CategoryFactory(slug="old")
    new_parent = CategoryFactory(slug="new")
    child = CategoryFactory(parent=old_parent)
    leaf = CategoryFactory(parent=child)
    ProductFactory(category=leaf)
    assert anon.get("/api/products?category=new").json()["items"] == []
    assert len(anon.get("/api/products?category=old").json()["items"]) == 1
    commit(services.category_update, category_id=child.pk, parent_id=new_parent.pk)
    assert len(anon.get("/api/products?category=new").json()["items"]) == 1
    assert anon.get("/api/products?category=old").json()["items"] == []


def test_admin_write_invalidates(anon: Client, commit: Callable[..., Any]) -> None:
    product = ProductFactory(name="Before", price=Decimal("5.00"))
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert anon.get(f"/api/products/{product.pk}").json()["name"] == "Before"
    form = {
        "name": "After",
        "slug": product.slug,
        "sku": product.sku,
        "description": product.description,
        "price": "5.00",
        "stock": str(product.stock),
        "is_active": "on",
        "category": "",
        # The product page's inlines (variants, images), left as they are.
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }
    response = commit(admin.post, f"/admin/nexus_shop/product/{product.pk}/change/", form)
    assert response.status_code == 302
    assert anon.get(f"/api/products/{product.pk}").json()["name"] == "After"


def test_seed_command_drops_the_catalogue(anon: Client, commit: Callable[..., Any]) -> None:
    assert anon.get("/api/products").json()["count"] == 0
    commit(call_command, "nexus_shop_seed", products=5, categories=2, verbosity=0)
    assert anon.get("/api/products").json()["count"] == 5


def test_a_stock_change_on_the_same_side_of_zero_keeps_other_entries(
    anon: Client, commit: Callable[..., Any]
) -> None:
    sold = ProductFactory(stock=5, price=Decimal("5.00"))
    other = ProductFactory(stock=5, price=Decimal("50.00"))
    anon.get(f"/api/products/{sold.pk}")
    anon.get(f"/api/products/{other.pk}")
    anon.get("/api/categories")
    anon.get("/api/products?min_price=10")  # shows only the other product
    listing = anon.get("/api/products")
    assert listing["X-Response-Cache"] == "miss"
    commit(services.product_update, product_id=sold.pk, stock=4)
    # Its own detail and the lists showing it are fresh...
    assert anon.get(f"/api/products/{sold.pk}").json()["stock"] == 4
    assert {p["stock"] for p in anon.get("/api/products").json()["items"]} == {4, 5}
    # ...the rest stays cached: the other detail, the categories, lists without it.
    assert anon.get(f"/api/products/{other.pk}")["X-Response-Cache"] == "hit"
    assert anon.get("/api/categories")["X-Response-Cache"] == "hit"
    assert anon.get("/api/products?min_price=10")["X-Response-Cache"] == "hit"


def test_stock_crossing_zero_changes_membership(anon: Client, commit: Callable[..., Any]) -> None:
    product = ProductFactory(stock=1)
    assert anon.get("/api/products?in_stock=false").json()["items"] == []
    commit(services.product_update, product_id=product.pk, stock=0)
    assert [p["id"] for p in anon.get("/api/products?in_stock=false").json()["items"]] == [
        product.pk
    ]


def test_a_new_product_appears_in_cached_lists(anon: Client, commit: Callable[..., Any]) -> None:
    assert anon.get("/api/products").json()["count"] == 0
    commit(services.product_create, name="Fresh", sku="F-1", price=Decimal("1"), stock=1)
    assert anon.get("/api/products").json()["count"] == 1


def test_off_by_default(anon: Client) -> None:
    ProductFactory()
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE=None):
        for _ in range(2):
            response = anon.get("/api/products")
            assert "X-Response-Cache" not in response
            assert response["Cache-Control"] == "public, max-age=0, must-revalidate"


def test_customer_reads_are_private(customer: Any) -> None:
    ProductFactory()
    response = Client(headers=bearer(customer)).get("/api/products")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=0, must-revalidate"
    assert response["Vary"] == "Authorization"


def test_the_middleware_in_async_mode(django_assert_num_queries: Any) -> None:
    """Under ASGI without the wrapper, the middleware runs async: no thread hop of its own."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    product = ProductFactory()

    async def get_async(path: str) -> Any:
        try:
            return await AsyncClient().get(path)
        finally:
            await get_engine().store.aclose()  # type: ignore[union-attr]  # on in this module

    url = f"/api/products/{product.pk}"
    assert async_to_sync(get_async)(url)["X-Response-Cache"] == "miss"
    with django_assert_num_queries(0):
        hit = async_to_sync(get_async)(url)
    assert hit["X-Response-Cache"] == "hit"
    assert hit.json()["id"] == product.pk


def test_facets_are_cached_and_follow_membership(
    anon: Client, commit: Callable[..., Any], django_assert_num_queries: Any
) -> None:
    product = ProductFactory(stock=3)
    url = "/api/products/facets?in_stock=true&utm=1"
    assert anon.get(url).json()["count"] == 1
    with django_assert_num_queries(0):
        assert anon.get("/api/products/facets?in_stock=true")["X-Response-Cache"] == "hit"
    commit(services.product_update, product_id=product.pk, stock=2)  # same side of zero
    assert anon.get(url)["X-Response-Cache"] == "hit"
    commit(services.product_update, product_id=product.pk, stock=0)  # crosses zero
    assert anon.get(url).json()["count"] == 0


# option= and variant writes (issue 17) --------------------------------------------------------


def test_a_cached_unfiltered_page_is_never_served_for_an_option_request(anon: Client) -> None:
    tee("Tee")
    ProductFactory(name="Plain")
    assert anon.get("/api/products")["X-Response-Cache"] == "miss"
    assert anon.get("/api/products")["X-Response-Cache"] == "hit"
    response = anon.get("/api/products?option=size:m")
    assert response["X-Response-Cache"] == "miss"
    assert [p["name"] for p in response.json()["items"]] == ["Tee"]
    # The canonical form is one entry: another spelling is a hit of the same answer.
    again = anon.get("/api/products?option=SIZE:M")
    assert again["X-Response-Cache"] == "hit"
    assert again.content == response.content
    facets = anon.get("/api/products/facets?option=size:m")
    assert facets["X-Response-Cache"] == "miss"
    assert facets.json()["count"] == 1


def _variant(product: Any, **options: str) -> ProductVariant:
    return ProductVariant.objects.get(product=product, options=options)


VARIANT_CHANGES = {
    # The M/Red (15, stock 2) leaves "red M in stock under 20" by each of these.
    "stock crossing zero": {"stock": 0},
    "stock_delta crossing zero": {"stock_delta": -2},
    "deactivation": {"is_active": False},
    "price": {"price": Decimal("21.00")},
    "options": {"options": {"Size": "L", "Colour": "Blue"}},
}


@pytest.mark.parametrize("change", VARIANT_CHANGES.values(), ids=list(VARIANT_CHANGES))
def test_a_variant_change_drops_the_option_filtered_pages_it_leaves(
    anon: Client, commit: Callable[..., Any], change: dict[str, Any]
) -> None:
    shirt = tee("Tee")
    url = "/api/products?option=size:m&option=colour:red&max_price=20&in_stock=true"
    assert [p["name"] for p in anon.get(url).json()["items"]] == ["Tee"]
    assert anon.get(url)["X-Response-Cache"] == "hit"
    variant = _variant(shirt, Size="M", Colour="Red")
    commit(variant_update, product_id=shirt.pk, variant_id=variant.pk, **change)
    assert anon.get(url).json()["items"] == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"stock": 4}, id="stock back"),
        pytest.param({"is_active": True}, id="reactivation"),
        # Inside the product's summary (price, price_max): min_price/max_price apply per
        # variant, so any variant price change is a membership change.
        pytest.param({"price": Decimal("19.00")}, id="price into the range"),
    ],
)
def test_a_variant_change_adds_its_product_to_the_option_filtered_pages_it_enters(
    anon: Client, commit: Callable[..., Any], change: dict[str, Any]
) -> None:
    shirt = tee("Tee")
    variant = _variant(shirt, Size="M", Colour="Blue")  # 18.00, no stock
    start: dict[str, Any] = {"stock": 0} if "stock" in change else {"is_active": False}
    if "price" in change:
        start = {"price": Decimal("22.00"), "stock": 1}  # within the summary (10 to 25)
    commit(variant_update, product_id=shirt.pk, variant_id=variant.pk, **start)
    url = "/api/products?option=size:m&option=colour:blue&max_price=20&in_stock=true"
    assert anon.get(url).json()["items"] == []
    assert anon.get(url)["X-Response-Cache"] == "hit"
    if "is_active" in change:
        change = {"is_active": True, "stock": 1}
    commit(variant_update, product_id=shirt.pk, variant_id=variant.pk, **change)
    assert [p["name"] for p in anon.get(url).json()["items"]] == ["Tee"]


def _as_put(product: Any) -> list[dict[str, Any]]:
    """Every live variant of ``product`` as a PUT body lists it."""
    return [
        {
            "id": v.pk,
            "sku": v.sku,
            "options": v.options,
            "price": v.price,
            "stock": v.stock,
            "is_active": v.is_active,
        }
        for v in ProductVariant.objects.filter(product=product)
    ]


def test_a_put_that_changes_a_variants_options_adds_it_to_the_pages_it_enters(
    anon: Client, commit: Callable[..., Any]
) -> None:
    shirt = tee("Tee")
    url = "/api/products?option=size:l&option=colour:blue"
    assert anon.get(url).json()["items"] == []
    assert anon.get(url)["X-Response-Cache"] == "hit"
    variants = _as_put(shirt)
    moved = next(v for v in variants if v["options"] == {"Size": "M", "Colour": "Red"})
    moved["options"] = {"Size": "L", "Colour": "Blue"}  # price, stock and activity as they were
    commit(services.product_update, product_id=shirt.pk, variants=variants)
    assert [p["name"] for p in anon.get(url).json()["items"]] == ["Tee"]


@pytest.mark.parametrize("how", ["variant PATCH", "product PATCH", "PUT"])
def test_a_new_sku_is_found_at_once_by_a_cached_search_for_it(
    anon: Client, commit: Callable[..., Any], how: str
) -> None:
    product = tee("Tee") if how != "product PATCH" else ProductFactory(name="Mug")
    url = "/api/products?q=NEW-CODE-1"
    assert anon.get(url).json()["items"] == []
    assert anon.get(url)["X-Response-Cache"] == "hit"
    variant = ProductVariant.objects.filter(product=product).first()
    assert variant is not None
    if how == "variant PATCH":
        commit(variant_update, product_id=product.pk, variant_id=variant.pk, sku="NEW-CODE-1")
    elif how == "product PATCH":  # a single-variant product's sku is its variant's
        commit(services.product_update, product_id=product.pk, sku="NEW-CODE-1")
    else:
        variants = _as_put(product)
        next(v for v in variants if v["id"] == variant.pk)["sku"] = "NEW-CODE-1"
        commit(services.product_update, product_id=product.pk, variants=variants)
    assert [p["name"] for p in anon.get(url).json()["items"]] == [product.name]
