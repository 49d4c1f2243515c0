"""Helpers of the purchase-path tests: carts filled through the API, checkouts by key."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Product, ProductVariant
from nexus_shop.services.catalog import product_create
from nexus_shop.services.summary import refresh_summary
from tests.conftest import bearer
from tests.factories import UserFactory

_numbers = count(1)
SIZES = ("S", "M", "L", "XL", "XXL")


def variant_product(
    stocks: Sequence[int] = (5, 5, 5),
    prices: Sequence[str] | None = None,
    *,
    name: str = "T-shirt",
) -> tuple[Product, list[ProductVariant]]:
    """A product with one option ("Size") and a variant per stock given, through the
    catalogue service (so its summary is what the service makes); its variants in order."""
    n = next(_numbers)
    sizes = SIZES[: len(stocks)]
    product = product_create(
        name=f"{name} {n}",
        sku=f"TEE-{n}",
        options=[{"name": "Size", "values": list(sizes)}],
        variants=[
            {
                "sku": f"TEE-{n}-{size}",
                "price": Decimal(prices[i] if prices else "20.00"),
                "stock": stock,
                "options": {"Size": size},
            }
            for i, (size, stock) in enumerate(zip(sizes, stocks, strict=True))
        ],
    )
    return product, list(ProductVariant.objects.filter(product=product).order_by("position", "id"))


def default_variant(product: Product) -> ProductVariant:
    return ProductVariant.all_objects.get(product=product)  # deleted with it too


def set_variant(variant: ProductVariant | Product, **fields: Any) -> None:
    """Change a variant's row directly (a product: its default variant), then its product's
    summary, as the variant services would: what a concurrent catalogue write leaves."""
    target = default_variant(variant) if isinstance(variant, Product) else variant
    ProductVariant.all_objects.filter(pk=target.pk).update(**fields)
    refresh_summary(product_ids=[target.product_id])


def user_client(user: Any) -> Client:
    """A client of ``user``. A server error comes back as a 500 answer, not re-raised: the
    test client's exception signal is process-wide, so in a race one thread's error would
    otherwise be raised in every thread's client."""
    return Client(headers=bearer(user), raise_request_exception=False)


def fill_cart(
    client: Client, items: list[tuple[int, int]], *, key: str = "product_id", **headers: str
) -> dict[str, Any]:
    """Add ``(id, quantity)`` items to the client's cart, ids being ``key``s (``product_id``
    of single-variant products, or ``variant_id``); the cart's JSON."""
    body: dict[str, Any] = {}
    for item_id, quantity in items:
        response = client.post(
            "/api/cart/items",
            {key: item_id, "quantity": quantity},
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 200, response.content
        body = response.json()
    return body


def checkout(client: Client, key: str | None = None, body: Any = None, **headers: str) -> Any:
    all_headers = {"Idempotency-Key": key or str(uuid.uuid4()), **headers}
    return client.post(
        "/api/checkout",
        body if body is not None else {},
        content_type="application/json",
        headers=all_headers,
    )


@pytest.fixture
def buyer(db: None) -> Any:
    return UserFactory()


@pytest.fixture
def buyer_client(buyer: Any) -> Client:
    return user_client(buyer)
