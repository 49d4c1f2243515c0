"""``manage.py nexus_shop_expire_orders`` emits ``order.cancelled`` for each order it cancels."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from nexus_shop.models import Order
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.checkout import checkout
from nexus_shop.services.event_payloads import order_data
from tests.factories import ProductFactory, UserFactory
from tests.support.outbox import Outbox

pytestmark = pytest.mark.django_db


def place(quantity: int, product_id: int) -> Order:
    buyer = UserFactory()
    cart_add_item(holder=Holder(user=buyer, token=None), product_id=product_id, quantity=quantity)
    result = checkout(user=buyer, cart_token=None, idempotency_key="k", render=lambda o: {})
    assert result.order_id is not None
    return Order.objects.get(pk=result.order_id)


def test_each_expired_order_is_an_order_cancelled(outbox: Outbox) -> None:
    product = ProductFactory(stock=3)
    old = [place(1, product.pk), place(2, product.pk)]  # sold out
    fresh = place(1, ProductFactory().pk)
    Order.objects.filter(pk__in=[o.pk for o in old]).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    outbox.new()

    call_command("nexus_shop_expire_orders", "--batch-size", "1", stdout=StringIO())

    new = outbox.new()
    assert [(e.type, e.resource) for e in new] == [
        # The first batch returns its unit to a sold-out product, the second 2 more.
        ("inventory.back_in_stock", f"product:{product.pk}"),
        ("order.cancelled", f"order:{old[0].pk}"),
        ("order.cancelled", f"order:{old[1].pk}"),
    ]
    cancelled = {e.resource: e.data for e in new if e.type == "order.cancelled"}
    for order in old:
        assert cancelled[f"order:{order.pk}"] == order_data(Order.objects.get(pk=order.pk))
        assert cancelled[f"order:{order.pk}"]["status"] == "cancelled"
    assert f"order:{fresh.pk}" not in cancelled
