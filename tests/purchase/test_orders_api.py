"""Orders for their owner and for staff; states; commands; the off switch; checks; admin."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nexus_shop import invalidation
from nexus_shop.checks import check_cachalot_purchase, check_purchase_settings
from nexus_shop.models import Cart, CartLine, Order, OrderStatus, Product, ProductVariant
from nexus_shop.services.cart import hash_token
from nexus_shop.services.summary import summary_drift
from tests.conftest import bearer
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.purchase.conftest import checkout, fill_cart, user_client, variant_product

pytestmark = pytest.mark.django_db

refunds: list[str] = []


class RecordingPayment:
    def order_placed(self, *, order: Any) -> None:
        return None

    def refund(self, *, order: Any) -> None:
        refunds.append(order.number)


def place(client: Client, product: Product, quantity: int = 1) -> str:
    fill_cart(client, [(product.pk, quantity)])
    response = checkout(client)
    assert response.status_code == 201, response.content
    number: str = response.json()["number"]
    return number


@pytest.fixture
def order_staff() -> Client:
    return Client(
        headers=bearer(StaffFactory(perms=["view_order", "change_order", "view_product"]))
    )


def test_my_orders_newest_first_in_the_page_envelope(buyer_client: Client) -> None:
    product = ProductFactory(stock=10)
    numbers = [place(buyer_client, product) for _ in range(3)]
    place(user_client(UserFactory()), product)  # someone else's

    page = buyer_client.get("/api/orders?page_size=2").json()

    assert set(page) == set(buyer_client.get("/api/products").json())  # the same envelope
    assert page["count"] == 3
    assert page["page"] == 1
    assert [o["number"] for o in page["items"]] == numbers[::-1][:2]
    rest = buyer_client.get(f"/api/orders?cursor={page['next_cursor']}").json()
    assert [o["number"] for o in rest["items"]] == [numbers[0]]
    assert rest["next_cursor"] is None  # present, and null: the same envelope as products
    assert "email" not in rest["items"][0]


def test_another_users_order_is_404(buyer_client: Client) -> None:
    other = user_client(UserFactory())
    number = place(other, ProductFactory())
    assert buyer_client.get(f"/api/orders/{number}").status_code == 404
    assert buyer_client.post(f"/api/orders/{number}/cancel").status_code == 404
    assert other.get(f"/api/orders/{number}").status_code == 200
    assert Order.objects.get(number=number).status == OrderStatus.PENDING_PAYMENT


def test_orders_need_authentication(anon: Client) -> None:
    assert anon.get("/api/orders").status_code == 401
    assert anon.get("/api/orders/100001").status_code == 401


def test_cancel_returns_stock_once(buyer_client: Client) -> None:
    product = ProductFactory(stock=5)
    number = place(buyer_client, product, 3)
    assert Product.objects.get(pk=product.pk).stock == 2

    cancelled = buyer_client.post(f"/api/orders/{number}/cancel")

    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert [e["status"] for e in body["events"]] == ["pending_payment", "cancelled"]
    assert cancelled["Cache-Control"] == "private, no-store"
    assert Product.objects.get(pk=product.pk).stock == 5
    again = buyer_client.post(f"/api/orders/{number}/cancel")
    assert again.status_code == 409
    assert Product.objects.get(pk=product.pk).stock == 5


def test_cancel_returns_stock_to_the_variants_it_came_from(buyer_client: Client) -> None:
    product, (small, medium, large) = variant_product(stocks=(4, 2, 6))
    fill_cart(buyer_client, [(small.pk, 1), (medium.pk, 2)], key="variant_id")
    number = checkout(buyer_client).json()["number"]
    assert Product.objects.get(pk=product.pk).stock == 9

    assert buyer_client.post(f"/api/orders/{number}/cancel").status_code == 200

    stocks = dict(ProductVariant.objects.filter(product=product).values_list("pk", "stock"))
    assert stocks == {small.pk: 4, medium.pk: 2, large.pk: 6}
    assert Product.objects.get(pk=product.pk).stock == 12
    assert summary_drift() == []


def test_the_owner_cannot_cancel_a_paid_order(buyer_client: Client, order_staff: Client) -> None:
    number = place(buyer_client, ProductFactory())
    order_staff.post(
        f"/api/staff/orders/{number}/transition",
        {"status": "paid"},
        content_type="application/json",
    )
    assert buyer_client.post(f"/api/orders/{number}/cancel").status_code == 409


def test_stock_changes_notify_the_invalidation_hook(buyer_client: Client) -> None:
    seen: list[invalidation.Change] = []
    invalidation.connect(seen.append)
    try:
        sold_out = ProductFactory(stock=2)
        plenty = ProductFactory(stock=9)
        fill_cart(buyer_client, [(sold_out.pk, 2), (plenty.pk, 1)])
        with pytest.MonkeyPatch.context():
            from django.test import TestCase

            with TestCase.captureOnCommitCallbacks(execute=True):
                number = checkout(buyer_client).json()["number"]
            assert {(c.product_ids, c.membership) for c in seen} == {
                (frozenset({plenty.pk}), False),
                (frozenset({sold_out.pk}), True),  # crossed zero: lists change
            }
            seen.clear()
            with TestCase.captureOnCommitCallbacks(execute=True):
                buyer_client.post(f"/api/orders/{number}/cancel")
            assert {(c.product_ids, c.membership) for c in seen} == {
                (frozenset({plenty.pk}), False),
                (frozenset({sold_out.pk}), True),  # back in stock
            }
    finally:
        invalidation.disconnect(seen.append)


# Staff ----------------------------------------------------------------------------------------


def test_staff_list_filters_and_permissions(buyer_client: Client, order_staff: Client) -> None:
    product = ProductFactory(stock=10)
    buyer_number = place(buyer_client, product)
    other_user = UserFactory()
    other_number = place(user_client(other_user), product)
    order_staff.post(
        f"/api/staff/orders/{other_number}/transition",
        {"status": "paid"},
        content_type="application/json",
    )

    def numbers(query: str) -> list[str]:
        response = order_staff.get(f"/api/staff/orders{query}")
        assert response.status_code == 200, response.content
        return [o["number"] for o in response.json()["items"]]

    assert numbers("") == [other_number, buyer_number]
    assert numbers("?status=paid") == [other_number]
    assert numbers(f"?user={other_user.pk}") == [other_number]
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert numbers(f"?created_after={future}") == []
    assert numbers(f"?created_before={future}") == [other_number, buyer_number]
    assert order_staff.get("/api/staff/orders?status=lost").status_code == 422
    detail = order_staff.get(f"/api/staff/orders/{buyer_number}").json()
    assert detail["number"] == buyer_number
    assert "user_id" in detail
    assert buyer_client.get("/api/staff/orders").status_code == 403
    assert buyer_client.get(f"/api/staff/orders/{buyer_number}").status_code == 403
    assert order_staff.get("/api/staff/orders/000").status_code == 404


def test_staff_transitions_follow_the_state_machine(
    buyer_client: Client, order_staff: Client, settings: Any
) -> None:
    settings.NEXUS_SHOP_PAYMENT_PROVIDER = f"{__name__}.RecordingPayment"
    product = ProductFactory(stock=4)
    number = place(buyer_client, product, 2)

    def move(status: str) -> Any:
        return order_staff.post(
            f"/api/staff/orders/{number}/transition",
            {"status": status},
            content_type="application/json",
        )

    assert move("fulfilled").status_code == 409
    assert move("paid").status_code == 200
    assert move("paid").status_code == 409
    refunds.clear()
    cancelled = move("cancelled")
    assert cancelled.status_code == 200
    assert refunds == [number]  # the refund hook ran for a paid order
    assert Product.objects.get(pk=product.pk).stock == 4
    assert move("paid").status_code == 409
    assert move("bogus").status_code == 422
    statuses = [e["status"] for e in cancelled.json()["events"]]
    assert statuses == ["pending_payment", "paid", "cancelled"]
    no_change = Client(headers=bearer(StaffFactory(perms=["view_order"])))
    response = no_change.post(
        f"/api/staff/orders/{number}/transition",
        {"status": "paid"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_paid_then_fulfilled(buyer_client: Client, order_staff: Client) -> None:
    number = place(buyer_client, ProductFactory())
    for status in ("paid", "fulfilled"):
        response = order_staff.post(
            f"/api/staff/orders/{number}/transition",
            {"status": status},
            content_type="application/json",
        )
        assert response.json()["status"] == status
    cancel = order_staff.post(
        f"/api/staff/orders/{number}/transition",
        {"status": "cancelled"},
        content_type="application/json",
    )
    assert cancel.status_code == 409


# Commands -------------------------------------------------------------------------------------


def test_expire_orders_cancels_only_old_unpaid_ones(buyer_client: Client, settings: Any) -> None:
    settings.NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT = timedelta(minutes=30)
    product = ProductFactory(stock=10)
    old = place(buyer_client, product, 2)
    fresh = place(buyer_client, product, 3)
    Order.objects.filter(number=old).update(created_at=timezone.now() - timedelta(minutes=31))
    out = StringIO()

    call_command("nexus_shop_expire_orders", stdout=out)
    call_command("nexus_shop_expire_orders", stdout=out)

    assert "Expired 1 order(s)" in out.getvalue()
    assert "Expired 0 order(s)" in out.getvalue()
    assert Order.objects.get(number=old).status == OrderStatus.CANCELLED
    assert Order.objects.get(number=fresh).status == OrderStatus.PENDING_PAYMENT
    assert Product.objects.get(pk=product.pk).stock == 7
    event = Order.objects.get(number=old).events.last()
    assert event is not None
    assert event.actor is None
    assert "expired" in event.note


def test_prune_carts_deletes_only_old_anonymous_ones(anon: Client, buyer_client: Client) -> None:
    product = ProductFactory()
    old_token = anon.post("/api/cart").json()["token"]
    fill_cart(anon, [(product.pk, 1)], **{"X-Cart-Token": old_token})
    new_token = Client().post("/api/cart").json()["token"]
    fill_cart(buyer_client, [(product.pk, 1)])
    long_ago = timezone.now() - timedelta(days=31)
    Cart.objects.update(updated_at=long_ago)  # the user's cart is old too, and kept
    Cart.objects.filter(token_hash=hash_token(new_token)).update(updated_at=timezone.now())
    out = StringIO()

    call_command("nexus_shop_prune_carts", stdout=out)

    assert "Deleted 1 anonymous cart(s)" in out.getvalue()
    assert "and 0 idempotency record(s)" in out.getvalue()
    assert anon.get("/api/cart", headers={"X-Cart-Token": old_token}).status_code == 404
    assert Client().get("/api/cart", headers={"X-Cart-Token": new_token}).status_code == 200
    assert buyer_client.get("/api/cart").status_code == 200
    assert CartLine.objects.count() == 1


def test_touching_a_cart_keeps_it(anon: Client) -> None:
    token = anon.post("/api/cart").json()["token"]
    Cart.objects.update(updated_at=timezone.now() - timedelta(days=31))
    fill_cart(anon, [(ProductFactory().pk, 1)], **{"X-Cart-Token": token})
    call_command("nexus_shop_prune_carts", stdout=StringIO())
    assert Cart.objects.count() == 1


# The off switch ---------------------------------------------------------------------------------


def test_switched_off_the_purchase_path_is_404_and_not_documented(
    settings: Any, buyer_client: Client, anon: Client
) -> None:
    settings.NEXUS_SHOP_PURCHASE_ENABLED = False
    for method, path in (
        ("post", "/api/cart"),
        ("get", "/api/cart"),
        ("post", "/api/cart/items"),
        ("post", "/api/checkout"),
        ("get", "/api/orders"),
        ("get", "/api/staff/orders"),
    ):
        for client in (anon, buyer_client):
            response = getattr(client, method)(path)
            assert response.status_code == 404, (method, path)
            assert "switched off" in response.json()["detail"]
    schema = anon.get("/api/openapi.json").json()
    assert not [p for p in schema["paths"] if p.startswith(("/api/cart", "/api/orders"))]
    assert "/api/checkout" not in schema["paths"]
    assert "CartOut" not in schema["components"]["schemas"]
    assert "/api/products" in schema["paths"]
    settings.NEXUS_SHOP_PURCHASE_ENABLED = True
    assert "/api/checkout" in anon.get("/api/openapi.json").json()["paths"]


def test_openapi_declares_every_status_with_examples(anon: Client) -> None:
    paths = anon.get("/api/openapi.json").json()["paths"]
    checkout_op = paths["/api/checkout"]["post"]
    for status in ("201", "401", "409", "422", "428"):
        assert status in checkout_op["responses"], status
    conflict = checkout_op["responses"]["409"]["content"]["application/json"]
    assert conflict["example"]["lines"][0].keys() == {
        "product_id",
        "variant_id",
        "requested",
        "available",
    }
    add_item = paths["/api/cart/items"]["post"]["responses"]["422"]["content"]["application/json"]
    assert add_item["example"]["variant_ids"]  # the multi-variant product's 422
    headers = {p["name"] for p in checkout_op["parameters"] if p["in"] == "header"}
    assert headers == {"Idempotency-Key", "X-Cart-Token"}
    ids = {
        op["operationId"]
        for path, item in paths.items()
        if path.startswith(("/api/cart", "/api/checkout", "/api/orders", "/api/staff/orders"))
        for op in item.values()
    }
    # Each GET has its HEAD (tests/test_head.py).
    ids = {name.removesuffix("_head") for name in ids}
    assert ids == {
        "cart_create",
        "cart_get",
        "cart_clear",
        "cart_add_item",
        "cart_update_item",
        "cart_remove_item",
        "checkout",
        "order_list",
        "order_get",
        "order_cancel",
        "staff_order_list",
        "staff_order_get",
        "staff_order_transition",
    }
    assert reverse("nexus_shop:checkout") == "/api/checkout"


# Checks ---------------------------------------------------------------------------------------


def test_purchase_settings_checks(settings: Any) -> None:
    assert check_purchase_settings() == []
    settings.NEXUS_SHOP_TAX_CALCULATOR = "no.such.calculator"
    settings.NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT = 3600
    settings.NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS = ["phone"]
    assert [m.id for m in check_purchase_settings()] == [
        "nexus_shop.E044",
        "nexus_shop.E042",
        "nexus_shop.E043",
    ]


def test_cachalot_must_not_cache_purchase_tables() -> None:
    from cachalot.settings import cachalot_settings
    from django.test import override_settings

    assert check_cachalot_purchase() == []
    try:
        with override_settings(CACHALOT_UNCACHABLE_TABLES=[]):
            cachalot_settings.load()
            assert [m.id for m in check_cachalot_purchase()] == ["nexus_shop.E021"]
    finally:
        cachalot_settings.load()


# Admin ----------------------------------------------------------------------------------------


def test_admin_status_actions_go_through_the_services(buyer_client: Client) -> None:
    product = ProductFactory(stock=5)
    number = place(buyer_client, product, 2)
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    order = Order.objects.get(number=number)

    page = client.get(reverse("admin:nexus_shop_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert number in page.content.decode()
    assert client.get(reverse("admin:nexus_shop_order_add")).status_code == 403

    changelist = reverse("admin:nexus_shop_order_changelist")
    client.post(changelist, {"action": "cancel", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=product.pk).stock == 5
    again = client.post(
        changelist, {"action": "mark_paid", "_selected_action": [order.pk]}, follow=True
    )
    assert "cannot become paid" in again.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_purchase_reads_always_hit_the_database(
    buyer_client: Client, django_assert_num_queries: Any
) -> None:
    from nexus_shop.models import IdempotencyRecord, OrderEvent, OrderLine

    fill_cart(buyer_client, [(ProductFactory().pk, 1)])
    checkout(buyer_client)
    fill_cart(buyer_client, [(ProductFactory().pk, 1)])  # an open cart with a line again
    reads: dict[str, Any] = {
        "product": lambda: list(Product.objects.filter(pk__gt=0)),
        "cart": lambda: list(Cart.objects.filter(pk__gt=0)),
        "cartline": lambda: list(CartLine.objects.filter(pk__gt=0)),
        "order": lambda: list(Order.objects.filter(pk__gt=0)),
        "orderline": lambda: list(OrderLine.objects.filter(pk__gt=0)),
        "orderevent": lambda: list(OrderEvent.objects.filter(pk__gt=0)),
        "idempotency": lambda: list(IdempotencyRecord.objects.filter(pk__gt=0)),
    }
    for read in reads.values():
        read()  # into cachalot's cache, if the table is cachable
    counts = {}
    for name, read in reads.items():
        with django_assert_num_queries(0 if name == "product" else 1) as context:
            read()
        counts[name] = len(context.captured_queries)
    # cachalot is on (the product read came from its cache) and skipped every purchase table.
    assert counts == {name: 0 if name == "product" else 1 for name in reads}


@pytest.mark.parametrize("number", ["a%00b", "x" * 33, "%F0%9F%9B%92", "1 2"])
def test_a_malformed_order_number_is_404(
    buyer_client: Client, order_staff: Client, number: str
) -> None:
    assert buyer_client.get(f"/api/orders/{number}").status_code == 404
    assert buyer_client.post(f"/api/orders/{number}/cancel").status_code == 404
    assert order_staff.get(f"/api/staff/orders/{number}").status_code == 404
    response = order_staff.post(
        f"/api/staff/orders/{number}/transition",
        {"status": "paid"},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_prune_carts_also_drops_expired_idempotency_records(buyer_client: Client) -> None:
    from nexus_shop.models import IdempotencyRecord

    product = ProductFactory(stock=5)
    place(buyer_client, product)
    place(buyer_client, product)
    old = IdempotencyRecord.objects.order_by("pk").first()
    assert old is not None
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    out = StringIO()
    call_command("nexus_shop_prune_carts", stdout=out)
    assert "and 1 idempotency record(s)" in out.getvalue()
    assert IdempotencyRecord.objects.count() == 1
    assert Order.objects.count() == 2  # the orders stay
