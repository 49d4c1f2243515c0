"""The "stock crossed zero" rule (``nexus_shop.services.stock``), and the stock writes.

Every stock write (checkout, returned stock, a product update) reports through the one
rule; checkout takes stock only of a product the selectors' visibility rule shows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Q
from django.test import RequestFactory
from django.utils import timezone

from nexus_shop import invalidation
from nexus_shop.admin import InStockListFilter
from nexus_shop.exceptions import Conflict
from nexus_shop.models import Cart, CartLine, Order, Product
from nexus_shop.models.catalog import IN_STOCK
from nexus_shop.schemas.catalog import ProductFilter
from nexus_shop.selectors import visibility
from nexus_shop.selectors.products import filtered_products, product_list
from nexus_shop.services.catalog import product_update
from nexus_shop.services.checkout import checkout
from nexus_shop.services.orders import return_stock
from nexus_shop.services.stock import StockChange, crosses_zero, in_stock, stock_changed
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

STOCK_PAIRS = [(0, 0), (0, 1), (1, 0), (1, 2), (2, 1), (5, 0), (0, 5), (3, 3)]


@pytest.fixture
def notices() -> Iterator[list[invalidation.Change]]:
    seen: list[invalidation.Change] = []
    invalidation.connect(seen.append)
    yield seen
    invalidation.disconnect(seen.append)


def _memberships(seen: list[invalidation.Change]) -> dict[int, bool]:
    return {pk: change.membership for change in seen for pk in change.product_ids}


def test_every_reader_of_in_stock_takes_the_models_rule() -> None:
    """The property, the Q, the selector's and the admin's filters and "crossed zero" agree."""
    by_stock = {stock: ProductFactory(stock=stock).pk for stock in (0, 1, 2)}
    expected = {pk for stock, pk in by_stock.items() if in_stock(stock)}
    assert expected == {by_stock[1], by_stock[2]}

    def admin_filter(value: str) -> set[int]:
        request = RequestFactory().get("/", {"in_stock": value})
        chosen = InStockListFilter(
            request, {"in_stock": [value]}, Product, admin.site.get_model_admin(Product)
        )
        queryset = chosen.queryset(request, Product.objects.all())
        assert queryset is not None
        return set(queryset.values_list("pk", flat=True))

    def selector(value: bool) -> set[int]:
        filters = ProductFilter.model_validate({"in_stock": value})
        return set(filtered_products(filters=filters, viewer=None).values_list("pk", flat=True))

    everyone = set(by_stock.values())
    assert {p.pk for p in Product.objects.all() if p.in_stock} == expected
    assert set(Product.objects.filter(IN_STOCK).values_list("pk", flat=True)) == expected
    assert set(Product.objects.filter(~IN_STOCK).values_list("pk", flat=True)) == (
        everyone - expected
    )
    assert selector(True) == admin_filter("yes") == expected
    assert selector(False) == admin_filter("no") == everyone - expected
    assert [crosses_zero(before=0, after=stock) for stock in (0, 1, 2)] == [
        by_stock[stock] in expected for stock in (0, 1, 2)
    ]


@pytest.mark.parametrize(("before", "after"), STOCK_PAIRS)
def test_crossing_zero_is_a_change_of_the_in_stock_lists(before: int, after: int) -> None:
    product = ProductFactory(stock=before)

    def listed() -> bool:
        queryset = filtered_products(
            filters=ProductFilter.model_validate({"in_stock": True}), viewer=None
        )
        return queryset.filter(pk=product.pk).exists()

    was_listed = listed()
    Product.objects.filter(pk=product.pk).update(stock=after)

    assert was_listed == in_stock(before)
    assert crosses_zero(before=before, after=after) == (listed() != was_listed)


def test_stock_changed_says_membership_for_the_crossings_only(
    notices: list[invalidation.Change], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        stock_changed(
            StockChange(product_id=n, before=before, after=after)
            for n, (before, after) in enumerate(STOCK_PAIRS, start=1)
        )
    assert _memberships(notices) == {
        n: crosses_zero(before=before, after=after)
        for n, (before, after) in enumerate(STOCK_PAIRS, start=1)
    }


@pytest.mark.parametrize(("before", "after"), STOCK_PAIRS)
def test_product_update_reports_a_stock_change_by_the_rule(
    before: int,
    after: int,
    notices: list[invalidation.Change],
    django_capture_on_commit_callbacks: Any,
) -> None:
    product = ProductFactory(stock=before)
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product_id=product.pk, stock=after)
    assert _memberships(notices) == {product.pk: crosses_zero(before=before, after=after)}


def test_returned_stock_reports_by_the_rule(
    notices: list[invalidation.Change], django_capture_on_commit_callbacks: Any
) -> None:
    sold_out = ProductFactory(stock=0)
    plenty = ProductFactory(stock=4)
    deleted = ProductFactory(stock=0, deleted_at=timezone.now())  # stock returns to it too
    with django_capture_on_commit_callbacks(execute=True):
        return_stock({sold_out.pk: 2, plenty.pk: 1, deleted.pk: 1})
    assert _memberships(notices) == {sold_out.pk: True, plenty.pk: False, deleted.pk: True}
    assert list(
        Product.all_objects.filter(pk__in=[sold_out.pk, plenty.pk, deleted.pk])
        .order_by("pk")
        .values_list("stock", flat=True)
    ) == [2, 5, 1]


# Checkout takes stock by the selectors' visibility rule ------------------------------------


def _buy(products: list[Product]) -> Callable[[], Any]:
    """A user whose cart holds one of each product (put in directly: the cart's own check
    of the rule is not what is tested); calling the result checks out."""
    user = UserFactory()
    cart = Cart.objects.create(user=user)
    for product in products:
        CartLine.objects.create(cart=cart, product=product, quantity=1)
    return lambda: checkout(
        user=user,
        cart_token=None,
        idempotency_key=str(uuid.uuid4()),
        render=lambda order: {"number": order.number},
    )


@pytest.mark.parametrize(
    "hidden", [{"is_active": False}, {"deleted_at": timezone.now()}], ids=["inactive", "deleted"]
)
def test_checkout_refuses_a_product_the_public_cannot_see(hidden: dict[str, Any]) -> None:
    plenty = ProductFactory(stock=5)
    product = ProductFactory(stock=5)
    buy = _buy([plenty, product])
    Product.all_objects.filter(pk=product.pk).update(**hidden)

    with pytest.raises(Conflict) as refused:
        buy()

    assert refused.value.extra["lines"] == [
        {"product_id": product.pk, "requested": 1, "available": 0}
    ]
    assert set(Product.all_objects.values_list("stock", flat=True)) == {5}  # all or nothing
    assert not Order.objects.exists()


def test_checkout_follows_a_rule_only_the_selectors_know(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new visibility rule, written in the selectors only, also decides what can be bought."""
    cheap = ProductFactory(stock=5, price=Decimal("10.00"))
    dear = ProductFactory(stock=5, price=Decimal("500.00"))
    buy_dear = _buy([dear])
    buy_cheap = _buy([cheap])
    under_100 = visibility.PUBLIC_PRODUCTS & Q(price__lt=100)
    monkeypatch.setattr(visibility, "PUBLIC_PRODUCTS", under_100)

    listed = {
        p.pk for p in product_list(filters=ProductFilter.model_validate({}), viewer=None).items
    }
    assert listed == {cheap.pk}
    with pytest.raises(Conflict):
        buy_dear()
    assert buy_cheap().status == 201
    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [4, 5]
