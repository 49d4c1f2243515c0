"""Optimistic concurrency: detail ETags, and If-Match on product and category writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Category, Product
from tests.conftest import bearer
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff: Any) -> Client:
    return Client(headers=bearer(staff))


def _patch(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.patch(url, data=body, content_type="application/json", headers=headers)


def test_detail_etag_is_the_same_for_everyone_and_follows_what_it_shows(
    anon: Client, staff_api: Client
) -> None:
    category = CategoryFactory(name="Shoes")
    product = ProductFactory(category=category)
    url = f"/api/products/{product.pk}"
    etag = anon.get(url)["ETag"]
    assert staff_api.get(url)["ETag"] == etag
    # Renaming the embedded category changes what the product detail shows.
    _patch(staff_api, f"/api/categories/{category.pk}", {"name": "Boots"})
    assert anon.get(url)["ETag"] != etag


def test_stale_if_match_is_412_and_nothing_changes(anon: Client, staff_api: Client) -> None:
    product = ProductFactory(name="Original", stock=5)
    url = f"/api/products/{product.pk}"
    etag = anon.get(url)["ETag"]
    ok = _patch(staff_api, url, {"stock": 4}, if_match=etag)
    assert ok.status_code == 200
    assert ok["ETag"] != etag
    assert ok["ETag"] == anon.get(url)["ETag"]

    stale = _patch(staff_api, url, {"name": "Lost update"}, if_match=etag)
    assert stale.status_code == 412
    assert stale.json()["detail"] == "The resource has changed since you read it (If-Match failed)."
    assert stale["Cache-Control"] == "no-store"
    row = Product.objects.get(pk=product.pk)
    assert (row.name, row.stock) == ("Original", 4)

    put = staff_api.put(
        url,
        data={"name": "Lost", "sku": product.sku, "price": "1", "stock": 1},
        content_type="application/json",
        headers={"if_match": etag},
    )
    assert put.status_code == 412
    assert staff_api.delete(url, headers={"if_match": etag}).status_code == 412
    assert Product.objects.filter(pk=product.pk).exists()
    assert Product.objects.get(pk=product.pk).name == "Original"


def test_weak_or_unknown_tags_never_match(staff_api: Client, anon: Client) -> None:
    product = ProductFactory()
    url = f"/api/products/{product.pk}"
    etag = anon.get(url)["ETag"]
    assert _patch(staff_api, url, {"stock": 1}, if_match=f"W/{etag}").status_code == 412
    assert _patch(staff_api, url, {"stock": 1}, if_match='"nope", "other"').status_code == 412
    assert _patch(staff_api, url, {"stock": 1}, if_match=f'"nope", {etag}').status_code == 200


def test_star_and_no_header(staff_api: Client) -> None:
    product = ProductFactory()
    url = f"/api/products/{product.pk}"
    assert _patch(staff_api, url, {"stock": 9}, if_match="*").status_code == 200
    assert _patch(staff_api, url, {"stock": 8}).status_code == 200
    assert Product.objects.get(pk=product.pk).stock == 8


def test_delete_and_restore_with_if_match(staff_api: Client) -> None:
    product = ProductFactory()
    url = f"/api/products/{product.pk}"
    etag = staff_api.get(url)["ETag"]
    assert staff_api.delete(url, headers={"if_match": etag}).status_code == 204
    deleted_etag = staff_api.get(f"{url}?include_deleted=true")["ETag"]
    assert deleted_etag != etag
    restore = f"{url}/restore"
    assert staff_api.post(restore, headers={"if_match": etag}).status_code == 412
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None
    restored = staff_api.post(restore, headers={"if_match": deleted_etag})
    assert restored.status_code == 200
    assert restored["ETag"] == staff_api.get(url)["ETag"]


def test_category_update_and_delete_with_if_match(anon: Client, staff_api: Client) -> None:
    category = CategoryFactory(name="Before")
    url = f"/api/categories/{category.pk}"
    etag = anon.get(url)["ETag"]
    updated = _patch(staff_api, url, {"name": "After"}, if_match=etag)
    assert updated.status_code == 200
    assert updated["ETag"] == anon.get(url)["ETag"]
    assert _patch(staff_api, url, {"name": "Lost"}, if_match=etag).status_code == 412
    assert staff_api.delete(url, headers={"if_match": etag}).status_code == 412
    assert Category.objects.get(pk=category.pk).name == "After"
    # A product moving in changes product_count, hence the category's ETag.
    current = anon.get(url)["ETag"]
    ProductFactory(category=category)
    assert staff_api.delete(url, headers={"if_match": current}).status_code == 412
    assert Category.objects.filter(pk=category.pk).exists()


def test_category_delete_and_restore_with_if_match(anon: Client, staff_api: Client) -> None:
    category = CategoryFactory(name="Before")
    url = f"/api/categories/{category.pk}"
    stale = anon.get(url)["ETag"]
    current = _patch(staff_api, url, {"name": "After"})["ETag"]
    assert staff_api.delete(url, headers={"if_match": current}).status_code == 204
    deleted_etag = staff_api.get(f"{url}?include_deleted=true")["ETag"]
    # A category's representation shows no deletion state (nor timestamps): deleting it
    # leaves its ETag as it was.
    assert deleted_etag == current
    restore = f"{url}/restore"
    refused = staff_api.post(restore, headers={"if_match": stale})
    assert refused.status_code == 412
    assert Category.all_objects.get(pk=category.pk).deleted_at is not None
    restored = staff_api.post(restore, headers={"if_match": deleted_etag})
    assert restored.status_code == 200
    assert restored["ETag"] == anon.get(url)["ETag"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_if_match_is_checked_under_the_row_lock(staff: Any) -> None:
    """Two writers holding the same ETag: exactly one wins, the other gets 412."""
    from tests.support.race import race

    product = ProductFactory(stock=10)
    url = f"/api/products/{product.pk}"
    etag = Client().get(url)["ETag"]

    def write(stock: int) -> int:
        client = Client(headers=bearer(staff))
        return int(_patch(client, url, {"stock": stock}, if_match=etag).status_code)

    results = race([lambda: write(1), lambda: write(2)])
    assert sorted(results) == [200, 412]
