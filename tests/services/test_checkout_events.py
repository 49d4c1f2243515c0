"""Checkout emits ``order.created`` (and the crossings of the stock it took) in its
transaction; the order is rendered from the rows it just wrote, as a read would show it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nexus_shop.exceptions import Conflict
from nexus_shop.models import Order, Product
from nexus_shop.schemas.orders import OrderOut
from nexus_shop.selectors.orders import order_get_by_id
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.checkout import CheckoutResult, checkout
from tests.factories import ProductFactory, UserFactory
from tests.purchase.conftest import variant_product
from tests.support.outbox import Outbox, in_a_failing_transaction

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def rendered(order: Order) -> dict[str, Any]:
    """What the checkout endpoint answers (and stores): the order read back, rendered."""
    return OrderOut.render(order_get_by_id(order_id=order.pk))


def buy(user: Any, key: str = "key-1", **kwargs: Any) -> CheckoutResult:
    return checkout(user=user, cart_token=None, idempotency_key=key, render=rendered, **kwargs)


def test_order_created_is_the_order_as_read_back(outbox: Outbox) -> None:
    buyer = UserFactory()
    mug = ProductFactory(stock=10, price=Decimal("9.99"))
    _, (small, medium) = variant_product(stocks=(4, 4), prices=("20.00", "22.50"))
    holder = Holder(user=buyer, token=None)
    cart_add_item(holder=holder, variant_id=medium.pk, quantity=2)
    cart_add_item(holder=holder, product_id=mug.pk, quantity=3)
    cart_add_item(holder=holder, variant_id=small.pk, quantity=1)
    outbox.new()

    result = buy(buyer, email="ada@example.com", shipping_address=ADDRESS)

    (event,) = outbox.new()
    assert (event.type, event.resource, event.sequence) == (
        "order.created",
        f"order:{result.order_id}",
        1,
    )
    assert event.data == result.body  # the endpoint's answer, byte for byte
    assert [(line["sku"], line["options"]) for line in event.data["lines"]] == [
        (mug.sku, {}),
        (small.sku, {"Size": "S"}),
        (medium.sku, {"Size": "M"}),
    ]
    assert event.data["email"] == "ada@example.com"
    assert event.data["shipping_address"] == ADDRESS


def test_an_order_without_email_or_address_leaves_them_out(outbox: Outbox) -> None:
    buyer = UserFactory()
    cart_add_item(holder=Holder(user=buyer, token=None), product_id=ProductFactory().pk, quantity=1)

    result = buy(buyer)

    data = outbox.one("order.created")
    assert data == result.body
    assert "email" not in data
    assert "shipping_address" not in data


def test_a_replayed_checkout_emits_nothing_more(outbox: Outbox) -> None:
    buyer = UserFactory()
    cart_add_item(holder=Holder(user=buyer, token=None), product_id=ProductFactory().pk, quantity=1)
    buy(buyer, key="same")
    outbox.new()

    assert buy(buyer, key="same").replayed

    assert outbox.new() == []


def test_a_refused_checkout_emits_nothing(outbox: Outbox) -> None:
    buyer = UserFactory()
    plenty, short = ProductFactory(stock=5), ProductFactory(stock=1)
    holder = Holder(user=buyer, token=None)
    cart_add_item(holder=holder, product_id=plenty.pk, quantity=5)  # would cross zero
    cart_add_item(holder=holder, product_id=short.pk, quantity=1)
    Product.objects.filter(pk=short.pk).update(is_active=False)
    outbox.new()

    with pytest.raises(Conflict):
        buy(buyer)

    assert outbox.new() == []


def test_a_checkout_rolled_back_by_its_caller_leaves_no_event(outbox: Outbox) -> None:
    buyer = UserFactory()
    cart_add_item(
        holder=Holder(user=buyer, token=None), product_id=ProductFactory(stock=1).pk, quantity=1
    )
    outbox.new()

    in_a_failing_transaction(lambda: buy(buyer))

    assert outbox.new() == []
    assert not Order.objects.exists()
