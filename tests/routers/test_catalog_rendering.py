"""The read endpoints render with pydantic's ``dump_json``; the write endpoints through ninja.

Both must write the same JSON for the same row: prices as decimal strings (never floats),
timestamps in the renderer's format (milliseconds, ``Z`` for UTC), the same fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from nexus_shop.models import Product
from nexus_shop.schemas.catalog import _json_datetime
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_a_read_renders_the_same_json_as_the_write_that_made_the_row(
    staff_client: Client, anon: Client
) -> None:
    category = CategoryFactory(name="Shoes", slug="shoes")
    created = staff_client.post(
        "/api/products",
        {"name": "Trail Runner", "sku": "TR-1", "price": "9999999999.90", "stock": 3,
         "category_id": category.pk},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201
    product_id = created.json()["id"]

    read = anon.get(f"/api/products/{product_id}")
    assert read.status_code == 200
    assert read["Content-Type"] == created["Content-Type"] == "application/json; charset=utf-8"
    assert read.json() == created.json()
    assert read.json()["price"] == "9999999999.90"  # a float would say 9999999999.9

    listed = anon.get("/api/products")
    # A list item is the detail without its variant and image arrays.
    detail = {k: v for k, v in created.json().items() if k not in {"variants", "images"}}
    assert listed.json()["items"] == [detail]


def test_timestamps_keep_the_renderers_format() -> None:
    assert _json_datetime(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.678Z"
    )
    assert _json_datetime(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


def test_read_bodies_show_timestamps_with_milliseconds_and_z(anon: Client) -> None:
    product = ProductFactory(price=Decimal("0.10"))
    Product.objects.filter(pk=product.pk).update(
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    )
    body = anon.get(f"/api/products/{product.pk}").content.decode()
    assert '"created_at":"2026-01-02T03:04:05.678Z"' in body.replace(" ", "")
    assert '"price":"0.10"' in body.replace(" ", "")


def test_category_reads_render_counts_and_fields(anon: Client) -> None:
    category = CategoryFactory(name="Books", slug="books")
    ProductFactory.create_batch(2, category=category)
    detail = anon.get(f"/api/categories/{category.pk}").json()
    assert detail == {
        "id": category.pk,
        "name": "Books",
        "slug": "books",
        "description": category.description,
        "parent_id": None,
        "product_count": 2,
    }
    page = anon.get("/api/categories").json()
    assert page["items"] == [detail]
    assert page["count"] == 1
