"""Event payloads are the API's own representations, byte for byte, read in the transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Order
from nexus_shop.services import catalog as services
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.checkout import checkout
from nexus_shop.services.event_payloads import category_data, order_data, product_data
from nexus_shop.services.orders import order_transition
from tests.conftest import bearer
from tests.factories import CategoryFactory, ProductFactory
from tests.support.outbox import to_milliseconds

pytestmark = pytest.mark.django_db


def tee(category_id: int | None = None) -> Any:
    return services.product_create(
        name="Tee",
        sku="TEE",
        category_id=category_id,
        options=[{"name": "Size", "values": ["S", "M"]}],
        variants=[
            {"sku": "TEE-S", "options": {"Size": "S"}, "price": Decimal("10"), "stock": 2},
            {
                "sku": "TEE-M",
                "options": {"Size": "M"},
                "price": Decimal("12.5"),
                "compare_at_price": Decimal("15"),
                "stock": 0,
            },
        ],
    )


def test_a_product_is_its_staff_detail(staff_client: Client) -> None:
    product = tee(category_id=CategoryFactory().pk)

    shown = staff_client.get(f"/api/products/{product.pk}").json()

    assert product_data(product_id=product.pk) == shown


def test_a_deleted_product_is_its_staff_detail_with_include_deleted(staff_client: Client) -> None:
    product = tee()
    services.product_soft_delete(product_id=product.pk)

    shown = staff_client.get(f"/api/products/{product.pk}?include_deleted=true").json()

    assert product_data(product_id=product.pk) == shown


def test_an_inactive_product_shows_what_staff_see() -> None:
    product = ProductFactory(is_active=False)

    assert product_data(product_id=product.pk)["is_active"] is False


def test_a_category_is_its_detail(anon: Client) -> None:
    parent = CategoryFactory()
    category = CategoryFactory(parent=parent)
    ProductFactory(category=category)

    data = category_data(category_id=category.pk)

    assert data == anon.get(f"/api/categories/{category.pk}").json()
    assert data["product_count"] == 1


def test_an_order_is_what_its_owner_sees(customer: Any, staff: Any) -> None:
    product = ProductFactory(stock=3)
    cart_add_item(holder=Holder(user=customer, token=None), product_id=product.pk, quantity=2)
    result = checkout(
        user=customer, cart_token=None, idempotency_key="k", render=lambda o: {}, email="a@b.cd"
    )
    assert result.order_id is not None
    number = Order.objects.get(pk=result.order_id).number
    order_transition(number=number, to="paid", actor=staff)

    shown = Client(headers=bearer(customer)).get(f"/api/orders/{number}").json()
    data = order_data(Order.objects.get(number=number))

    assert to_milliseconds(data) == shown
    assert [event["status"] for event in data["events"]] == ["pending_payment", "paid"]
