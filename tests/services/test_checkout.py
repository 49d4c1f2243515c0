"""``services.checkout``: a cart becomes one order, all or nothing, once per key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from nexus_shop import invalidation
from nexus_shop.exceptions import Conflict, OutOfStock, ValidationFailed
from nexus_shop.models import (
    Cart,
    IdempotencyRecord,
    Order,
    OrderStatus,
    Product,
    ProductVariant,
    VariantOption,
)
from nexus_shop.services.cart import Holder, cart_add_item, cart_create
from nexus_shop.services.checkout import CheckoutResult, checkout, idempotency_records_prune
from nexus_shop.services.summary import option_rows_drift, summary_drift
from tests.factories import ProductFactory, UserFactory
from tests.purchase.conftest import default_variant, set_variant, variant_product

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def render(order: Order) -> dict[str, Any]:
    return {"number": order.number, "total": str(order.total)}


def fill(user: Any, *items: tuple[Product, int], token: str | None = None) -> None:
    for product, quantity in items:
        cart_add_item(
            holder=Holder(user=user, token=token), product_id=product.pk, quantity=quantity
        )


def buy(user: Any, key: str = "key-1", **kwargs: Any) -> CheckoutResult:
    return checkout(user=user, cart_token=None, idempotency_key=key, render=render, **kwargs)


def order_id(result: CheckoutResult) -> int:
    assert result.order_id is not None
    return result.order_id


def stock(*products: Product) -> list[int]:
    """Each product's stock: its summary, which must equal its one variant's."""
    summaries = [Product.objects.get(pk=p.pk).stock for p in products]
    assert summaries == [default_variant(p).stock for p in products]
    return summaries


def variant_stock(*variants: ProductVariant) -> list[int]:
    return [ProductVariant.all_objects.get(pk=v.pk).stock for v in variants]


def test_the_cart_becomes_an_order_at_todays_prices_and_its_stock_is_taken() -> None:
    user = UserFactory()
    kettle = ProductFactory(price=Decimal("12.50"), stock=5)
    cup = ProductFactory(price=Decimal("3.00"), stock=9)
    fill(user, (kettle, 2), (cup, 3))
    set_variant(cup, price=Decimal("4.00"))  # after it was added

    result = buy(user)

    order = Order.objects.get(pk=order_id(result))
    assert (result.status, result.replayed, result.body) == (201, False, render(order))
    assert order.user == user
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert [(line.product_id, line.quantity, line.unit_price) for line in order.lines.all()] == [
        (kettle.pk, 2, Decimal("12.50")),
        (cup.pk, 3, Decimal("4.00")),
    ]
    assert order.subtotal == Decimal("37.00")
    assert order.total == order.subtotal + order.shipping + order.tax
    assert [event.status for event in order.events.all()] == [OrderStatus.PENDING_PAYMENT]
    assert stock(kettle, cup) == [3, 6]
    assert Cart.objects.get(order=order).closed_at is not None


def test_one_short_line_orders_nothing_and_names_every_shortfall() -> None:
    user = UserFactory()
    plenty, short, gone = (ProductFactory(stock=n) for n in (5, 1, 4))
    fill(user, (plenty, 2), (short, 3), (gone, 1))
    Product.objects.filter(pk=gone.pk).update(is_active=False)  # cannot be bought any more

    # OutOfStock, a Conflict (409) of its own: the router counts the outcome by its class.
    with pytest.raises(OutOfStock) as refused:
        buy(user)

    assert refused.value.extra["lines"] == [
        {
            "product_id": short.pk,
            "variant_id": default_variant(short).pk,
            "requested": 3,
            "available": 1,
        },
        {
            "product_id": gone.pk,
            "variant_id": default_variant(gone).pk,
            "requested": 1,
            "available": 0,
        },
    ]
    assert stock(plenty, short, gone) == [5, 1, 4]
    assert not Order.objects.exists()
    assert not IdempotencyRecord.objects.exists()  # the key is free for the retry
    assert Cart.objects.get(user=user).closed_at is None


def add_variants(user: Any, *items: tuple[ProductVariant, int]) -> None:
    for variant, quantity in items:
        cart_add_item(
            holder=Holder(user=user, token=None), variant_id=variant.pk, quantity=quantity
        )


def test_stock_is_taken_from_the_variants_and_the_summary_follows() -> None:
    user = UserFactory()
    shirt, (small, medium, large) = variant_product(stocks=(3, 5, 7))
    mug = ProductFactory(stock=4)
    add_variants(user, (large, 2), (small, 3))
    fill(user, (mug, 1))

    order = Order.objects.get(pk=order_id(buy(user)))

    assert [(line.variant_id, line.sku, line.options) for line in order.lines.all()] == [
        (small.pk, small.sku, {"Size": "S"}),
        (large.pk, large.sku, {"Size": "L"}),
        (default_variant(mug).pk, mug.sku, {}),
    ]  # product-id order (the shirt was made first), then variant-id order
    assert variant_stock(small, medium, large) == [0, 5, 5]
    assert Product.objects.get(pk=shirt.pk).stock == 10
    assert stock(mug) == [3]
    assert summary_drift() == []
    # The small size sold out: its option row says so, so "option=size:s&in_stock=true"
    # no longer lists the shirt.
    assert list(VariantOption.objects.filter(variant=small).values_list("in_stock", flat=True)) == [
        False
    ]
    assert option_rows_drift() == []


@pytest.mark.parametrize("hidden", ["inactive", "deleted"])
def test_a_variant_no_longer_for_sale_is_a_shortfall(hidden: str) -> None:
    user = UserFactory()
    shirt, (small, medium, _) = variant_product(stocks=(3, 5, 7))
    add_variants(user, (small, 1), (medium, 2))
    set_variant(
        medium, **{"is_active": False} if hidden == "inactive" else {"deleted_at": timezone.now()}
    )

    with pytest.raises(Conflict) as refused:
        buy(user)

    assert refused.value.extra["lines"] == [
        {"product_id": shirt.pk, "variant_id": medium.pk, "requested": 2, "available": 0}
    ]
    assert variant_stock(small, medium) == [3, 5]
    assert Product.objects.get(pk=shirt.pk).stock == 10  # small and the large one
    assert not Order.objects.exists()


def test_the_product_summary_never_decides_a_variants_shortfall() -> None:
    """The product's sum (12) covers the line; the variant's own stock (2) does not."""
    user = UserFactory()
    shirt, (small, _, _) = variant_product(stocks=(2, 5, 5))
    add_variants(user, (small, 3))

    with pytest.raises(Conflict) as refused:
        buy(user)

    assert refused.value.extra["lines"] == [
        {"product_id": shirt.pk, "variant_id": small.pk, "requested": 3, "available": 2}
    ]
    assert Product.objects.get(pk=shirt.pk).stock == 12


def test_the_same_key_replays_the_stored_answer_without_a_second_order() -> None:
    user = UserFactory()
    product = ProductFactory(stock=5)
    fill(user, (product, 2))
    first = buy(user, email="a@example.com")
    calls: list[Order] = []

    def render_again(order: Order) -> dict[str, Any]:
        calls.append(order)
        return {}

    again = checkout(
        user=user,
        cart_token=None,
        idempotency_key="key-1",
        render=render_again,
        email="a@example.com",
    )

    assert (again.status, again.body, again.order_id) == (201, first.body, first.order_id)
    assert again.replayed
    assert calls == []  # the stored body, not a new rendering
    assert Order.objects.count() == 1
    assert stock(product) == [3]


def test_a_key_reused_for_another_body_or_another_cart_is_refused() -> None:
    user = UserFactory()
    product = ProductFactory(stock=5)
    fill(user, (product, 1))
    first = buy(user, email="a@example.com")

    with pytest.raises(ValidationFailed, match="different request body"):
        buy(user, email="b@example.com")
    fill(user, (product, 1))  # a new cart
    with pytest.raises(ValidationFailed, match="different cart"):
        buy(user, email="a@example.com")
    assert buy(user, key="key-2", email="a@example.com").order_id != first.order_id
    assert stock(product) == [3]


def test_keys_are_per_user() -> None:
    product = ProductFactory(stock=5)
    alice, bob = UserFactory(), UserFactory()
    fill(alice, (product, 1))
    fill(bob, (product, 1))

    assert buy(alice).order_id != buy(bob).order_id
    assert stock(product) == [3]


def test_an_empty_or_missing_cart_is_refused() -> None:
    user = UserFactory()
    with pytest.raises(ValidationFailed, match="empty"):
        buy(user)  # no cart at all
    cart_create(holder=Holder(user=user, token=None))
    with pytest.raises(ValidationFailed, match="empty"):
        buy(user, key="key-2")
    assert not Order.objects.exists()


def test_the_anonymous_cart_of_the_token_is_checked_out_with_the_users() -> None:
    user = UserFactory()
    mine, theirs = ProductFactory(stock=5), ProductFactory(stock=5)
    fill(user, (mine, 1))
    token = cart_create(holder=Holder(user=None, token=None)).token
    fill(None, (theirs, 2), (mine, 1), token=token)

    result = checkout(user=user, cart_token=token, idempotency_key="k", render=render)

    order = Order.objects.get(pk=order_id(result))
    assert sorted((line.product_id, line.quantity) for line in order.lines.all()) == sorted(
        [(mine.pk, 2), (theirs.pk, 2)]
    )
    assert stock(mine, theirs) == [3, 3]


def test_a_required_field_missing_is_refused(settings: Any) -> None:
    settings.NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS = ["email"]
    user = UserFactory()
    fill(user, (ProductFactory(stock=5), 1))
    with pytest.raises(ValidationFailed) as refused:
        buy(user)
    assert refused.value.extra == {"field": "email"}
    assert buy(user, key="key-2", email="a@example.com").status == 201


def test_the_caches_hear_of_the_stock_on_commit_and_of_zero_as_membership(
    changes: list[invalidation.Change], django_capture_on_commit_callbacks: Capture
) -> None:
    user = UserFactory()
    emptied, left = ProductFactory(stock=2), ProductFactory(stock=5)
    fill(user, (emptied, 2), (left, 1))

    with django_capture_on_commit_callbacks(execute=True):
        buy(user)
        assert changes == []  # nothing before the commit

    assert invalidation.Change(product_ids=frozenset({emptied.pk}), membership=True) in changes
    assert invalidation.Change(product_ids=frozenset({left.pk}), membership=False) in changes


def test_one_variant_selling_out_is_a_membership_change_of_its_product(
    changes: list[invalidation.Change], django_capture_on_commit_callbacks: Capture
) -> None:
    """The product stays in stock (its other variants), but "size S in stock" lists lose it."""
    user = UserFactory()
    shirt, (small, medium, _) = variant_product(stocks=(2, 5, 5))
    other, (other_small, _, _) = variant_product(stocks=(9, 9, 9))
    add_variants(user, (small, 2), (medium, 1), (other_small, 1))

    with django_capture_on_commit_callbacks(execute=True):
        buy(user)

    assert Product.objects.get(pk=shirt.pk).in_stock
    assert changes == [
        invalidation.Change(product_ids=frozenset({other.pk}), membership=False),
        invalidation.Change(product_ids=frozenset({shirt.pk}), membership=True),
    ]


def test_stored_answers_older_than_the_ttl_are_pruned() -> None:
    user = UserFactory()
    fill(user, (ProductFactory(stock=5), 1))
    buy(user)
    fill(user, (ProductFactory(stock=5), 1))
    buy(user, key="key-2")
    IdempotencyRecord.objects.filter(key="key-1").update(
        created_at=timezone.now() - timedelta(days=2)
    )

    assert idempotency_records_prune() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["key-2"]
