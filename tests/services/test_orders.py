"""``services.orders``: the state machine, stock returned exactly once, the refund hook."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.utils import timezone

from nexus_shop import invalidation
from nexus_shop.exceptions import Conflict, NotFound
from nexus_shop.models import Order, OrderStatus, Product
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.checkout import checkout
from nexus_shop.services.orders import order_cancel, order_transition, orders_expire
from tests.factories import ProductFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]
PENDING, PAID, FULFILLED, CANCELLED = (
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.CANCELLED,
)
ALLOWED = {(PENDING, PAID), (PENDING, CANCELLED), (PAID, FULFILLED), (PAID, CANCELLED)}


class RecordingPayment:
    """A payment provider (``NEXUS_SHOP_PAYMENT_PROVIDER``) that writes down its calls."""

    calls: ClassVar[list[tuple[str, str]]] = []

    def order_placed(self, *, order: Order) -> None:
        self.calls.append(("placed", order.number))

    def refund(self, *, order: Order) -> None:
        self.calls.append(("refund", order.number))


@pytest.fixture
def payments(settings: Any) -> list[tuple[str, str]]:
    settings.NEXUS_SHOP_PAYMENT_PROVIDER = f"{__name__}.RecordingPayment"
    RecordingPayment.calls = []
    return RecordingPayment.calls


def place(user: Any, product: Product, quantity: int = 2) -> Order:
    """An order of ``user`` for ``quantity`` of ``product``, through checkout."""
    holder = Holder(user=user, token=None)
    cart_add_item(holder=holder, product_id=product.pk, quantity=quantity)
    result = checkout(
        user=user,
        cart_token=None,
        idempotency_key=f"k{Order.objects.count()}",
        render=lambda order: {"number": order.number},
    )
    assert result.order_id is not None
    return Order.objects.get(pk=result.order_id)


def in_status(status: str, product: Product) -> Order:
    order = place(UserFactory(), product)
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


@pytest.mark.parametrize(("start", "to"), list(itertools.permutations(OrderStatus.values, 2)))
def test_the_state_machine_allows_these_moves_and_no_other(start: str, to: str) -> None:
    product = ProductFactory(stock=10)
    order = in_status(start, product)
    staff = StaffFactory()
    if (start, to) in ALLOWED:
        assert order_transition(number=order.number, to=to, actor=staff).status == to
        order.refresh_from_db()
        assert order.status == to
        assert order.events.last().actor == staff  # type: ignore[union-attr]
    else:
        with pytest.raises(Conflict):
            order_transition(number=order.number, to=to, actor=staff)
        order.refresh_from_db()
        assert order.status == start
    returned = to == CANCELLED and (start, to) in ALLOWED
    assert stock(product) == (10 if returned else 8)


def test_cancelling_returns_the_stock_once(payments: list[tuple[str, str]]) -> None:
    product = ProductFactory(stock=3)
    order = place(UserFactory(), product, quantity=3)
    assert stock(product) == 0

    order_transition(number=order.number, to=CANCELLED, actor=None)
    with pytest.raises(Conflict):
        order_transition(number=order.number, to=CANCELLED, actor=None)

    assert stock(product) == 3
    assert payments == [("placed", order.number)]  # not paid: nothing to refund


def test_cancelling_a_paid_order_asks_for_a_refund(payments: list[tuple[str, str]]) -> None:
    product = ProductFactory(stock=5)
    order = place(UserFactory(), product)
    order_transition(number=order.number, to=PAID, actor=None)

    order_transition(number=order.number, to=CANCELLED, actor=None, note="out of paper")

    assert payments == [("placed", order.number), ("refund", order.number)]
    assert order.events.last().note == "out of paper"  # type: ignore[union-attr]
    assert stock(product) == 5


def test_the_owner_cancels_only_their_own_order_awaiting_payment() -> None:
    product = ProductFactory(stock=5)
    owner = UserFactory()
    order = place(owner, product)

    with pytest.raises(NotFound):  # another user's order looks missing
        order_cancel(number=order.number, user=UserFactory())
    assert order_cancel(number=order.number, user=owner).status == CANCELLED
    assert stock(product) == 5

    paid = place(owner, product)
    order_transition(number=paid.number, to=PAID, actor=None)
    with pytest.raises(Conflict):
        order_cancel(number=paid.number, user=owner)
    assert stock(product) == 3


def test_an_unknown_or_malformed_number_is_not_found() -> None:
    for number in ("999999", "not a number", "x" * 500):
        with pytest.raises(NotFound):
            order_transition(number=number, to=PAID, actor=None)


def test_expiry_cancels_old_unpaid_orders_and_returns_their_stock() -> None:
    product = ProductFactory(stock=10)
    old, recent, old_paid = (place(UserFactory(), product) for _ in range(3))
    order_transition(number=old_paid.number, to=PAID, actor=None)
    long_ago = timezone.now() - timedelta(hours=2)
    Order.objects.filter(pk__in=[old.pk, old_paid.pk]).update(created_at=long_ago)

    assert orders_expire(batch_size=1) == 1
    assert orders_expire() == 0  # once

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {old.pk: CANCELLED, recent.pk: PENDING, old_paid.pk: PAID}
    assert Order.objects.get(pk=old.pk).events.last().note.startswith("expired")  # type: ignore[union-attr]
    assert stock(product) == 6


def test_stock_back_from_zero_is_a_membership_change(
    changes: list[invalidation.Change], django_capture_on_commit_callbacks: Capture
) -> None:
    emptied, left = ProductFactory(stock=2), ProductFactory(stock=5)
    back_in_stock, still_in_stock = place(UserFactory(), emptied), place(UserFactory(), left)
    changes.clear()

    with django_capture_on_commit_callbacks(execute=True):
        order_transition(number=back_in_stock.number, to=CANCELLED, actor=None)
        order_transition(number=still_in_stock.number, to=CANCELLED, actor=None)

    assert changes == [
        invalidation.Change(product_ids=frozenset({emptied.pk}), membership=True),
        invalidation.Change(product_ids=frozenset({left.pk}), membership=False),
    ]
