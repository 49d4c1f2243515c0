"""The purchase path's endpoints emit their events: checkout, the owner's cancel, staff
transitions. Each event carries the order as the endpoint answers with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Order, OrderStatus, Product
from nexus_shop.schemas.orders import OrderOut
from nexus_shop.selectors.orders import order_get_by_id
from tests.conftest import bearer
from tests.factories import ProductFactory, StaffFactory
from tests.purchase.conftest import checkout, fill_cart
from tests.support.outbox import Outbox, to_milliseconds

pytestmark = pytest.mark.django_db


@pytest.fixture
def order_staff() -> Client:
    return Client(headers=bearer(StaffFactory(perms=["view_order", "change_order"])))


def as_rendered(number: str) -> dict[str, Any]:
    """The order as checkout answers and stores it (``OrderOut.render``: times to the
    microsecond; the order reads write milliseconds)."""
    return OrderOut.render(order_get_by_id(order_id=Order.objects.get(number=number).pk))


def test_checkout_emits_order_created_as_it_answers(buyer_client: Client, outbox: Outbox) -> None:
    product = ProductFactory(stock=5)
    fill_cart(buyer_client, [(product.pk, 2)])

    response = checkout(buyer_client, body={"email": "ada@example.com"})

    assert response.status_code == 201, response.content
    (event,) = outbox.new()
    order = Order.objects.get(number=response.json()["number"])
    assert (event.type, event.resource, event.sequence) == ("order.created", f"order:{order.pk}", 1)
    assert event.data == as_rendered(order.number)  # what checkout stored for replays
    assert to_milliseconds(event.data) == response.json()


def test_checkout_of_the_last_units_emits_out_of_stock(
    buyer_client: Client, outbox: Outbox
) -> None:
    product = ProductFactory(stock=2)
    fill_cart(buyer_client, [(product.pk, 2)])

    assert checkout(buyer_client).status_code == 201

    assert [(e.type, e.resource) for e in outbox.new()] == [
        ("inventory.out_of_stock", f"product:{product.pk}"),
        ("order.created", f"order:{Order.objects.get().pk}"),
    ]


def test_a_refused_checkout_emits_nothing(buyer_client: Client, outbox: Outbox) -> None:
    product = ProductFactory(stock=2)
    fill_cart(buyer_client, [(product.pk, 2)])
    Product.objects.filter(pk=product.pk).update(is_active=False)

    assert checkout(buyer_client).status_code == 409

    assert outbox.new() == []


def test_the_owners_cancel_emits_back_in_stock_and_order_cancelled(
    buyer_client: Client, outbox: Outbox
) -> None:
    product = ProductFactory(stock=1)
    fill_cart(buyer_client, [(product.pk, 1)])
    number = checkout(buyer_client).json()["number"]
    outbox.new()

    response = buyer_client.post(f"/api/orders/{number}/cancel")

    assert response.status_code == 200, response.content
    new = outbox.new()
    assert [(e.type, e.resource) for e in new] == [
        ("inventory.back_in_stock", f"product:{product.pk}"),
        ("order.cancelled", f"order:{Order.objects.get(number=number).pk}"),
    ]
    assert new[1].data == as_rendered(number)
    assert new[1].data["status"] == response.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    "path", [["paid", "fulfilled"], ["paid", "cancelled"], ["cancelled"]], ids="-".join
)
def test_each_staff_transition_emits_its_event(
    buyer_client: Client, order_staff: Client, outbox: Outbox, path: list[str]
) -> None:
    fill_cart(buyer_client, [(ProductFactory(stock=9).pk, 1)])
    number = checkout(buyer_client).json()["number"]
    resource = f"order:{Order.objects.get(number=number).pk}"
    outbox.new()

    for status in path:
        response = order_staff.post(
            f"/api/staff/orders/{number}/transition",
            {"status": status},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        assert outbox.kinds() == [(f"order.{status}", resource, path.index(status) + 2)]
    assert Order.objects.get(number=number).status == OrderStatus(path[-1])


def test_a_refused_transition_emits_nothing(
    buyer_client: Client, order_staff: Client, outbox: Outbox
) -> None:
    fill_cart(buyer_client, [(ProductFactory().pk, 1)])
    number = checkout(buyer_client).json()["number"]
    outbox.new()

    response = order_staff.post(
        f"/api/staff/orders/{number}/transition",
        {"status": "fulfilled"},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert outbox.new() == []
