from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import ProductFactory
from tests.purchase.conftest import checkout, fill_cart

pytestmark = pytest.mark.django_db


def test_anonymous_cart_then_checkout(buyer_client: Client, anon: Client) -> None:
    product = ProductFactory(stock=3)
    created = anon.post("/api/cart")
    assert created.status_code == 201
    token = created.json()["token"]
    cart = fill_cart(anon, [(product.pk, 2)], **{"X-Cart-Token": token})
    assert cart["lines"][0]["available"] == 3
    response = checkout(buyer_client, **{"X-Cart-Token": token})
    assert response.status_code == 201, response.content
    body: Any = response.json()
    assert body["total"] == "20.00"
    assert body["status"] == "pending_payment"
    product.refresh_from_db()
    assert product.stock == 1
    assert anon.get("/api/cart", headers={"X-Cart-Token": token}).status_code == 404
