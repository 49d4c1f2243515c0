"""The purchase path's concurrency promises, with real parallel requests on PostgreSQL.

Each request runs in its own thread with its own Django test ``Client`` and its own
database connection (``tests.support.race`` starts them behind one barrier). The quick
versions run here; the full-size ones (100 buyers, 20 crossed carts) are heavy, in
tests/heavy/test_purchase_concurrency.py, with the same helpers. Every test prints its
tally (``-s`` shows it): requests sent, orders created, final stock, errors seen.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from nexus_shop.models import Order, OrderStatus, Product, ProductVariant
from nexus_shop.services.summary import summary_drift
from nexus_shop.services.variants import variant_update
from tests.factories import ProductFactory, UserFactory
from tests.purchase.conftest import checkout, fill_cart, user_client, variant_product
from tests.support.race import race, race_n

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# PostgreSQL's default max_connections is 100 (shared here with the rest of the machine):
# at most this many requests hold a connection at once, as a server's connection pool
# would allow. All requests are still released together by the barrier.
IN_FLIGHT = 40


def _bounded(calls: list[Callable[[], Any]]) -> list[Callable[[], Any]]:
    gate = threading.BoundedSemaphore(IN_FLIGHT)

    def wrap(call: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with gate:
                return call()

        return run

    return [wrap(call) for call in calls]


def _statuses(outcomes: list[Any]) -> Counter[Any]:
    return Counter(
        outcome.status_code if hasattr(outcome, "status_code") else repr(outcome)
        for outcome in outcomes
    )


def _buyers_with_carts(
    count: int, items: list[tuple[int, int]], *, key: str = "product_id"
) -> list[Client]:
    clients = []
    for _ in range(count):
        client = user_client(UserFactory())
        fill_cart(client, items, key=key)
        clients.append(client)
    return clients


def no_oversell(buyers: int, stock: int) -> None:
    product = ProductFactory(stock=stock)
    clients = _buyers_with_carts(buyers, [(product.pk, 1)])

    outcomes = race(_bounded([partial(checkout, c) for c in clients]))

    statuses = _statuses(outcomes)
    product.refresh_from_db()
    orders = Order.objects.count()
    print(  # the tally quoted in the notes
        f"\nno-oversell: {buyers} checkouts sent, {orders} orders, final stock "
        f"{product.stock}, answers {dict(statuses)}"
    )
    assert statuses == {201: stock, 409: buyers - stock}
    assert product.stock == 0
    assert orders == stock
    conflicts = [o.json() for o in outcomes if o.status_code == 409]
    variant = ProductVariant.objects.get(product=product)
    assert variant.stock == 0
    assert all(
        c["lines"]
        == [{"product_id": product.pk, "variant_id": variant.pk, "requested": 1, "available": 0}]
        for c in conflicts
    )


def test_no_oversell_quick() -> None:
    no_oversell(buyers=12, stock=4)


def no_oversell_on_a_variant(buyers: int, stock: int) -> None:
    """The same race on one variant of a product with three: the others are untouched, and
    the product's summary stock is the sum of its variants' at the end."""
    product, (contested, left, right) = variant_product(stocks=(stock, 7, 9))
    clients = _buyers_with_carts(buyers, [(contested.pk, 1)], key="variant_id")

    outcomes = race(_bounded([partial(checkout, c) for c in clients]))

    statuses = _statuses(outcomes)
    stocks = dict(ProductVariant.objects.filter(product=product).values_list("pk", "stock"))
    product.refresh_from_db()
    orders = Order.objects.count()
    print(
        f"\nno-oversell on a variant: {buyers} checkouts sent, {orders} orders, variant "
        f"stock {stocks[contested.pk]}, product stock {product.stock}, answers {dict(statuses)}"
    )
    assert statuses == {201: stock, 409: buyers - stock}
    assert orders == stock
    assert stocks == {contested.pk: 0, left.pk: 7, right.pk: 9}
    assert product.stock == 16
    assert summary_drift() == []
    assert {line.variant_id for order in Order.objects.all() for line in order.lines.all()} == {
        contested.pk
    }
    conflicts = [o.json() for o in outcomes if o.status_code == 409]
    assert all(
        c["lines"]
        == [{"product_id": product.pk, "variant_id": contested.pk, "requested": 1, "available": 0}]
        for c in conflicts
    )


def test_no_oversell_on_a_variant_quick() -> None:
    no_oversell_on_a_variant(buyers=12, stock=4)


def test_a_restock_during_a_sale_neither_deadlocks_nor_loses_a_unit() -> None:
    """Checkouts of two variants race ``stock_delta`` restocks of both (the catalogue's
    write: product row, then the variant): every answer is a 201 or a 409, and every unit
    is accounted for."""
    product, (small, medium, _) = variant_product(stocks=(3, 3, 0))
    buyers = _buyers_with_carts(4, [(small.pk, 1), (medium.pk, 1)], key="variant_id")
    buyers += _buyers_with_carts(4, [(medium.pk, 1), (small.pk, 1)], key="variant_id")

    def restock(variant_id: int) -> str:
        variant_update(product_id=product.pk, variant_id=variant_id, stock_delta=1)
        return "restocked"

    calls: list[Callable[[], Any]] = [partial(checkout, c) for c in buyers]
    calls += [partial(restock, v.pk) for v in (small, medium, small, medium)]

    outcomes = race(calls)

    statuses = _statuses(outcomes)
    print(f"\nrestock during a sale: answers {dict(statuses)}")
    sold = Order.objects.count()
    assert statuses[repr("restocked")] == 4
    assert statuses[201] == sold
    assert statuses[201] + statuses[409] == len(buyers)
    stocks = dict(ProductVariant.objects.filter(product=product).values_list("pk", "stock"))
    assert stocks[small.pk] == stocks[medium.pk] == 3 + 2 - sold
    assert summary_drift() == []


def crossed_carts(pairs: int) -> None:
    a = ProductFactory(stock=1000)
    b = ProductFactory(stock=1000)
    forward = _buyers_with_carts(pairs, [(a.pk, 1), (b.pk, 1)])
    backward = _buyers_with_carts(pairs, [(b.pk, 1), (a.pk, 1)])
    clients = [c for pair in zip(forward, backward, strict=True) for c in pair]

    outcomes = race(_bounded([partial(checkout, c) for c in clients]))

    statuses = _statuses(outcomes)
    a.refresh_from_db()
    b.refresh_from_db()
    print(
        f"\ncrossed carts: {len(clients)} checkouts sent, {Order.objects.count()} orders, "
        f"final stock A={a.stock} B={b.stock}, answers {dict(statuses)}"
    )
    assert statuses == {201: len(clients)}
    assert a.stock == b.stock == 1000 - len(clients)


def test_crossed_carts_no_deadlock_quick() -> None:
    crossed_carts(pairs=4)


def test_all_or_nothing_when_one_line_is_short() -> None:
    plenty = ProductFactory(stock=5)
    short = ProductFactory(stock=1)
    client = user_client(UserFactory())
    fill_cart(client, [(plenty.pk, 2), (short.pk, 3)])

    response = checkout(client)

    assert response.status_code == 409
    assert response.json()["lines"] == [
        {
            "product_id": short.pk,
            "variant_id": ProductVariant.objects.get(product=short).pk,
            "requested": 3,
            "available": 1,
        }
    ]
    plenty.refresh_from_db()
    short.refresh_from_db()
    assert (plenty.stock, short.stock) == (5, 1)
    assert not Order.objects.exists()
    assert client.get("/api/cart").json()["lines"][1]["insufficient_stock"] is True


def test_same_key_ten_times_at_once_one_order() -> None:
    product = ProductFactory(stock=50)
    user = UserFactory()
    fill_cart(user_client(user), [(product.pk, 3)])
    clients = [user_client(user) for _ in range(10)]
    key = str(uuid.uuid4())

    outcomes = race([partial(checkout, c, key) for c in clients])

    statuses = _statuses(outcomes)
    product.refresh_from_db()
    print(
        f"\nsame key x10: 10 sent, {Order.objects.count()} orders, final stock "
        f"{product.stock}, answers {dict(statuses)}"
    )
    assert Order.objects.count() == 1
    assert product.stock == 47
    created = [o for o in outcomes if o.status_code == 201]
    assert created
    assert all(o.status_code in {201, 409} for o in outcomes)
    assert all(o.content == created[0].content for o in created)


def _cancels(count: int) -> None:
    product = ProductFactory(stock=10)
    user = UserFactory()
    client = user_client(user)
    fill_cart(client, [(product.pk, 4)])
    number = checkout(client).json()["number"]
    product.refresh_from_db()
    assert product.stock == 6
    clients = [user_client(user) for _ in range(count)]

    outcomes = race([partial(c.post, f"/api/orders/{number}/cancel") for c in clients])

    statuses = _statuses(outcomes)
    product.refresh_from_db()
    print(
        f"\nconcurrent cancels: {count} sent, final stock {product.stock}, answers {dict(statuses)}"
    )
    assert statuses == {200: 1, 409: count - 1}
    assert product.stock == 10
    assert Order.objects.get(number=number).events.filter(status="cancelled").count() == 1


def test_ten_concurrent_cancels_return_stock_once() -> None:
    _cancels(10)


def test_expire_orders_from_two_places_at_once() -> None:
    product = ProductFactory(stock=30)
    for _ in range(6):
        client = user_client(UserFactory())
        fill_cart(client, [(product.pk, 2)])
        assert checkout(client).status_code == 201
    Order.objects.update(created_at="2000-01-01T00:00:00Z")
    product.refresh_from_db()
    assert product.stock == 18

    outcomes = race_n(
        2, lambda n: call_command("nexus_shop_expire_orders", "--batch-size", "2", verbosity=0)
    )

    assert outcomes == [None, None]
    product.refresh_from_db()
    print(
        f"\nexpire x2: {Order.objects.filter(status=OrderStatus.CANCELLED).count()} of 6 "
        f"orders expired, final stock {product.stock}"
    )
    assert product.stock == 30
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    for order in Order.objects.all():
        assert order.events.filter(status="cancelled").count() == 1


def test_merge_from_two_requests_at_once_counts_once() -> None:
    product = ProductFactory(stock=5)
    anon = Client()
    token = anon.post("/api/cart").json()["token"]
    fill_cart(anon, [(product.pk, 2)], **{"X-Cart-Token": token})
    user = UserFactory()
    clients = [user_client(user) for _ in range(4)]

    outcomes = race([partial(c.get, "/api/cart", headers={"X-Cart-Token": token}) for c in clients])

    assert _statuses(outcomes) == {200: 4}
    lines = user_client(user).get("/api/cart").json()["lines"]
    assert [line["quantity"] for line in lines] == [2]
    assert Product.objects.get(pk=product.pk).stock == 5


def test_one_cart_becomes_one_order_whatever_the_keys() -> None:
    product = ProductFactory(stock=50)
    user = UserFactory()
    fill_cart(user_client(user), [(product.pk, 2)])
    clients = [user_client(user) for _ in range(6)]

    outcomes = race([partial(checkout, c) for c in clients])  # six different keys

    statuses = _statuses(outcomes)
    print(f"\none cart, 6 keys: answers {dict(statuses)}, {Order.objects.count()} orders")
    assert statuses == {201: 1, 422: 5}  # the others find the cart closed: empty
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 48


def test_concurrent_adds_to_one_cart_add_up() -> None:
    product = ProductFactory(stock=50)
    token = Client().post("/api/cart").json()["token"]
    clients = [Client(raise_request_exception=False) for _ in range(8)]

    outcomes = race(
        [
            partial(
                c.post,
                "/api/cart/items",
                {"product_id": product.pk, "quantity": 3},
                content_type="application/json",
                headers={"X-Cart-Token": token},
            )
            for c in clients
        ]
    )

    assert _statuses(outcomes) == {200: 8}
    lines = Client().get("/api/cart", headers={"X-Cart-Token": token}).json()["lines"]
    assert [line["quantity"] for line in lines] == [24]
