"""Helpers of the purchase-path tests: carts filled through the API, checkouts by key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from tests.conftest import bearer
from tests.factories import UserFactory


def user_client(user: Any) -> Client:
    """A client of ``user``. A server error comes back as a 500 answer, not re-raised: the
    test client's exception signal is process-wide, so in a race one thread's error would
    otherwise be raised in every thread's client."""
    return Client(headers=bearer(user), raise_request_exception=False)


def fill_cart(client: Client, items: list[tuple[int, int]], **headers: str) -> dict[str, Any]:
    """Add ``(product_id, quantity)`` items to the client's cart; the cart's JSON."""
    body: dict[str, Any] = {}
    for product_id, quantity in items:
        response = client.post(
            "/api/cart/items",
            {"product_id": product_id, "quantity": quantity},
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
