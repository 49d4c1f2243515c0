"""Every catalogue write endpoint emits its event, carrying what the API shows: the answer
of the write itself, or the detail read right after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from nexus_shop.models import ProductVariant
from tests.factories import CategoryFactory, ProductFactory
from tests.support import images as pictures
from tests.support.outbox import Outbox

pytestmark = pytest.mark.django_db

TEE = {
    "name": "Tee",
    "sku": "TEE",
    "options": [{"name": "Size", "values": ["S", "M", "L"]}],
    "variants": [
        {"sku": "TEE-S", "options": {"Size": "S"}, "price": "10.00", "stock": 1},
        {"sku": "TEE-M", "options": {"Size": "M"}, "price": "12.00", "stock": 3},
    ],
}


def send(client: Client, method: str, url: str, body: Any = None) -> Any:
    response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code in (200, 201, 204), response.content
    return response.json() if response.status_code != 204 else None


def detail(client: Client, product_id: int) -> Any:
    return client.get(f"/api/products/{product_id}?include_deleted=true").json()


def test_product_endpoints(staff_client: Client, outbox: Outbox) -> None:
    created = send(staff_client, "post", "/api/products", TEE)
    pk = created["id"]
    url = f"/api/products/{pk}"
    assert outbox.kinds() == [("product.created", f"product:{pk}", 1)]

    patched = send(staff_client, "patch", url, {"name": "Tee, renamed"})
    assert outbox.one("product.updated") == patched
    replaced = send(staff_client, "put", url, {**TEE, "name": "Tee, replaced"})
    assert outbox.one("product.updated") == replaced
    send(staff_client, "delete", url)
    assert outbox.one("product.deleted") == detail(staff_client, pk)
    restored = send(staff_client, "post", f"{url}/restore")
    assert outbox.one("product.restored") == restored
    assert restored["name"] == "Tee, replaced"


def test_the_created_product_is_the_answer(staff_client: Client, outbox: Outbox) -> None:
    created = send(staff_client, "post", "/api/products", TEE)

    assert outbox.one("product.created") == created


def test_variant_endpoints(staff_client: Client, outbox: Outbox) -> None:
    pk = send(staff_client, "post", "/api/products", TEE)["id"]
    small = ProductVariant.objects.get(sku="TEE-S").pk
    url = f"/api/products/{pk}/variants"
    outbox.new()

    added = send(
        staff_client,
        "post",
        url,
        {"sku": "TEE-L", "options": {"Size": "L"}, "price": "14.00", "stock": 2},
    )
    assert outbox.one("product.updated") == added
    patched = send(staff_client, "patch", f"{url}/{small}", {"stock_delta": -1})
    new = outbox.new()
    assert [e.type for e in new] == ["inventory.out_of_stock", "product.updated"]
    assert new[0].data == {"product_id": pk, "variant_id": small, "sku": "TEE-S", "stock": 0}
    assert new[1].data == patched
    send(staff_client, "delete", f"{url}/{small}")
    assert outbox.one("product.updated") == detail(staff_client, pk)
    restored = send(staff_client, "post", f"{url}/{small}/restore")
    assert outbox.one("product.updated") == restored


def test_image_endpoints(staff_client: Client, outbox: Outbox, settings: Any, media: Path) -> None:
    settings.NEXUS_SHOP_IMAGE_SIZES = {"thumb": 16}
    product = ProductFactory()
    url = f"/api/products/{product.pk}/images"

    response = staff_client.post(
        url, {"file": SimpleUploadedFile("a.png", pictures.png(), content_type="image/png")}
    )
    assert response.status_code == 201, response.content
    image = response.json()
    assert outbox.one("product.updated") == detail(staff_client, product.pk)
    send(staff_client, "patch", f"{url}/{image['id']}", {"alt": "Front"})
    assert outbox.one("product.updated")["images"][0]["alt"] == "Front"
    send(staff_client, "delete", f"{url}/{image['id']}")
    assert outbox.one("product.updated") == detail(staff_client, product.pk)


def test_category_endpoints(staff_client: Client, outbox: Outbox) -> None:
    parent = CategoryFactory()

    created = send(staff_client, "post", "/api/categories", {"name": "Audio"})
    pk = created["id"]
    assert outbox.one("category.created") == created
    patched = send(staff_client, "patch", f"/api/categories/{pk}", {"parent_id": parent.pk})
    assert outbox.one("category.updated") == patched
    send(staff_client, "delete", f"/api/categories/{pk}")
    deleted = staff_client.get(f"/api/categories/{pk}?include_deleted=true").json()
    assert outbox.one("category.deleted") == deleted == patched
    assert staff_client.get(f"/api/categories/{pk}").status_code == 404
    restored = send(staff_client, "post", f"/api/categories/{pk}/restore")
    assert outbox.one("category.restored") == restored == patched


def test_a_refused_write_emits_nothing(staff_client: Client, outbox: Outbox) -> None:
    product = ProductFactory()
    ProductFactory(sku="TAKEN")
    outbox.new()

    conflict = staff_client.patch(
        f"/api/products/{product.pk}", {"sku": "TAKEN"}, content_type="application/json"
    )
    stale = staff_client.patch(
        f"/api/products/{product.pk}",
        {"name": "Stale"},
        content_type="application/json",
        headers={"If-Match": '"not-the-version"'},
    )

    assert (conflict.status_code, stale.status_code) == (409, 412)
    assert outbox.new() == []
