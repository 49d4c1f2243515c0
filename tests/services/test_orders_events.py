"""Every order transition emits ``order.<status>`` with the order as its owner sees it:
staff transitions, the owner's cancel, and each order the expiry cancels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from nexus_shop.exceptions import Conflict
from nexus_shop.models import Order, OrderStatus, Product
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.checkout import checkout
from nexus_shop.services.event_payloads import order_data
from nexus_shop.services.orders import order_cancel, order_transition, orders_expire
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.support.outbox import Outbox, in_a_failing_transaction

pytestmark = pytest.mark.django_db


def place(user: Any, product: Product, quantity: int = 1) -> Order:
    cart_add_item(holder=Holder(user=user, token=None), product_id=product.pk, quantity=quantity)
    result = checkout(
        user=user,
        cart_token=None,
        idempotency_key=f"k{Order.objects.count()}",
        render=lambda order: {},
    )
    assert result.order_id is not None
    return Order.objects.get(pk=result.order_id)


def statuses(data: dict[str, Any]) -> list[str]:
    return [event["status"] for event in data["events"]]


def test_each_staff_transition_is_its_event(outbox: Outbox) -> None:
    order = place(UserFactory(), ProductFactory(stock=5))
    staff = StaffFactory()
    resource = f"order:{order.pk}"
    outbox.new()

    order_transition(number=order.number, to=OrderStatus.PAID, actor=staff)
    paid = order_data(Order.objects.get(pk=order.pk))
    order_transition(number=order.number, to=OrderStatus.FULFILLED, actor=staff)

    new = outbox.new()
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("order.paid", resource, 2),  # 1 was order.created
        ("order.fulfilled", resource, 3),
    ]
    assert new[0].data == paid
    assert (paid["status"], statuses(paid)) == ("paid", ["pending_payment", "paid"])
    assert new[1].data == order_data(Order.objects.get(pk=order.pk))
    assert statuses(new[1].data) == ["pending_payment", "paid", "fulfilled"]


def test_a_staff_cancel_of_the_last_units_is_back_in_stock_then_cancelled(
    outbox: Outbox,
) -> None:
    product = ProductFactory(stock=2)
    order = place(UserFactory(), product, quantity=2)
    outbox.new()

    order_transition(number=order.number, to=OrderStatus.CANCELLED, actor=None)

    new = outbox.new()
    assert [(e.type, e.resource) for e in new] == [
        ("inventory.back_in_stock", f"product:{product.pk}"),
        ("order.cancelled", f"order:{order.pk}"),
    ]
    assert new[0].data["stock"] == 2
    assert new[1].data == order_data(Order.objects.get(pk=order.pk))
    assert new[1].data["status"] == "cancelled"


def test_the_owners_cancel_is_order_cancelled(outbox: Outbox) -> None:
    buyer = UserFactory()
    order = place(buyer, ProductFactory(stock=5))
    outbox.new()

    order_cancel(number=order.number, user=buyer)

    assert outbox.one("order.cancelled") == order_data(Order.objects.get(pk=order.pk))


def test_a_refused_transition_emits_nothing(outbox: Outbox) -> None:
    order = place(UserFactory(), ProductFactory(stock=5))
    outbox.new()

    with pytest.raises(Conflict):
        order_transition(number=order.number, to=OrderStatus.FULFILLED, actor=None)

    assert outbox.new() == []


def test_a_transition_rolled_back_by_its_caller_leaves_no_event(outbox: Outbox) -> None:
    order = place(UserFactory(), ProductFactory(stock=1))
    outbox.new()

    in_a_failing_transaction(
        lambda: order_transition(number=order.number, to=OrderStatus.CANCELLED, actor=None)
    )

    assert outbox.new() == []
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT


def test_the_expiry_cancels_each_order_with_its_event(outbox: Outbox) -> None:
    product = ProductFactory(stock=10)
    expired = [place(UserFactory(), product) for _ in range(3)]
    fresh = place(UserFactory(), product)
    Order.objects.filter(pk__in=[o.pk for o in expired]).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    outbox.new()

    assert orders_expire(batch_size=2) == 3  # two batches

    new = outbox.new()
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("order.cancelled", f"order:{order.pk}", 2) for order in expired
    ]
    for event, order in zip(new, expired, strict=True):
        assert event.data == order_data(Order.objects.get(pk=order.pk))
        assert statuses(event.data) == ["pending_payment", "cancelled"]
    assert Order.objects.get(pk=fresh.pk).status == OrderStatus.PENDING_PAYMENT
