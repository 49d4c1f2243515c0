"""One vocabulary for the dependency graph: the store's stamps are the CDN's surrogate keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings

from nexus_shop import invalidation
from nexus_shop.http_cache import deps
from nexus_shop.http_cache.engine import get_engine
from nexus_shop.http_cache.reads import READS, ReadKind, mark_public_read
from tests.factories import CategoryFactory, ProductFactory

CHANGES = [
    invalidation.Change(product_ids=frozenset({4}), membership=False),
    invalidation.Change(product_ids=frozenset({4, 2}), membership=True),
    invalidation.Change(category_ids=frozenset({7})),
]


def _marked(kind: ReadKind, **rows: list[int]) -> dict[str, list[str]]:
    request = RequestFactory().get("/")
    mark_public_read(request, kind, **rows)
    annotation: dict[str, list[str]] = request._nexus_shop_http_cache  # type: ignore[attr-defined]  # set just above
    return annotation


@pytest.mark.parametrize("kind", list(ReadKind))
def test_a_reads_tags_are_catalogue_and_its_dependencies(kind: ReadKind) -> None:
    read = READS[kind]
    rows = {
        "product_ids": [3] if read.products else [],
        "category_ids": [5] if read.categories else [],
    }
    marked = _marked(kind, **rows)
    expected = [*read.lists]
    expected += ["product-3"] if read.products else []
    expected += ["category-5"] if read.categories else []
    assert marked["deps"] == expected
    assert marked["tags"] == ["catalogue", *expected]


def test_the_lists_each_read_depends_on() -> None:
    lists = {kind.value: list(read.lists) for kind, read in READS.items()}
    assert lists == {
        "product-list": ["product-list"],
        "product-facets": ["product-list"],
        "product-detail": [],
        "category-list": ["category-list"],
        "category-detail": ["category-list"],
    }


def test_rows_a_read_does_not_declare_are_refused() -> None:
    with pytest.raises(ValueError, match="category-list"):
        _marked(ReadKind.CATEGORY_LIST, product_ids=[1])


@pytest.mark.parametrize("change", CHANGES)
def test_the_store_and_the_cdn_invalidate_the_same_names(change: invalidation.Change) -> None:
    assert deps.purge_keys(change) == deps.dependencies_of(change)


def test_what_a_change_invalidates() -> None:
    stock, price, category = CHANGES
    assert deps.dependencies_of(stock) == ["product-4"]
    assert deps.dependencies_of(price) == [
        "product-2",
        "product-4",
        "product-list",
        "category-list",
    ]
    assert deps.dependencies_of(category) == ["category-7", "product-list", "category-list"]
    assert deps.purge_keys(invalidation.Change(everything=True)) == ["catalogue"]


@pytest.fixture
def cached() -> Iterator[None]:
    middleware = ["nexus_shop.http_cache.ResponseCacheMiddleware", *settings.MIDDLEWARE]
    with override_settings(
        NEXUS_SHOP_RESPONSE_CACHE="default",
        NEXUS_SHOP_CDN_PURGE_BACKEND="nexus_shop.http_cache.VarnishPurge",
        NEXUS_SHOP_CDN_PURGE_OPTIONS={"servers": []},
        MIDDLEWARE=middleware,
    ):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        yield


@pytest.mark.django_db
@pytest.mark.usefixtures("cached")
def test_a_stored_entry_depends_on_the_names_its_response_is_tagged_with() -> None:
    product = ProductFactory(category=CategoryFactory())
    engine = get_engine()
    assert engine is not None
    for path in ("/api/products", f"/api/products/{product.pk}", "/api/categories"):
        response = Client().get(path)
        assert response["X-Response-Cache"] == "miss"
        lookup = engine.classify(path=path, query_string="", headers={}, scheme="http")
        assert lookup is not None
        entry, _ = engine.store.lookup(lookup.key)
        assert entry is not None
        assert response["Surrogate-Key"].split() == ["catalogue", *entry.deps]
        assert response["Cache-Tag"].split(",") == ["catalogue", *entry.deps]
