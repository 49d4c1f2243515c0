"""The "stock crossed zero" rule (``nexus_shop.services.stock``), and the stock writes.

Every stock write (checkout, returned stock, a product update) reports through the one
rule, per variant; checkout takes stock only of a variant and product the selectors'
visibility rules show.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest
from django.contrib import admin
from django.db.models import Q
from django.test import RequestFactory
from django.utils import timezone

from nexus_shop import invalidation
from nexus_shop.admin import InStockListFilter
from nexus_shop.exceptions import Conflict
from nexus_shop.models import Cart, CartLine, Order, Product, ProductVariant
from nexus_shop.models.catalog import IN_STOCK
from nexus_shop.schemas.catalog import ProductFilter
from nexus_shop.selectors import visibility
from nexus_shop.selectors.products import filtered_products, product_list
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.catalog import product_update
from nexus_shop.services.checkout import checkout
from nexus_shop.services.orders import return_stock
from nexus_shop.services.stock import StockChange, crosses_zero, in_stock, stock_changed
from nexus_shop.services.summary import option_rows_drift, summary_drift
from tests.factories import ProductFactory, UserFactory
from tests.purchase.conftest import default_variant, set_variant, variant_product
from tests.support.outbox import Outbox

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
    set_variant(product, stock=after)

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


def test_a_product_hears_once_and_as_membership_if_any_of_its_variants_crossed(
    notices: list[invalidation.Change], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        stock_changed(
            [
                StockChange(product_id=1, variant_id=11, sku="V11", before=5, after=4),
                StockChange(product_id=1, variant_id=12, sku="V12", before=1, after=0),  # sold out
                StockChange(product_id=2, variant_id=21, sku="V21", before=5, after=4),
                StockChange(product_id=2, variant_id=22, sku="V22", before=3, after=1),
            ]
        )
    assert notices == [
        invalidation.Change(product_ids=frozenset({2}), membership=False),
        invalidation.Change(product_ids=frozenset({1}), membership=True),
    ]


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
    shirt, (small, medium, _) = variant_product(stocks=(0, 3, 3))  # S back in stock
    with django_capture_on_commit_callbacks(execute=True):
        return_stock(
            {
                default_variant(sold_out).pk: 2,
                default_variant(plenty).pk: 1,
                default_variant(deleted).pk: 1,
                small.pk: 1,
                medium.pk: 2,
            }
        )
    assert _memberships(notices) == {
        sold_out.pk: True,
        plenty.pk: False,
        deleted.pk: True,
        shirt.pk: True,
    }
    assert [default_variant(p).stock for p in (sold_out, plenty, deleted)] == [2, 5, 1]
    assert list(
        ProductVariant.objects.filter(product=shirt).order_by("id").values_list("stock", flat=True)
    ) == [1, 5, 3]
    assert Product.objects.get(pk=shirt.pk).stock == 9  # the live products' summaries follow
    assert summary_drift() == []
    assert option_rows_drift() == []  # the option rows' in_stock too


# Checkout takes stock by the selectors' visibility rule ------------------------------------


def _buy(products: list[Product]) -> Callable[[], Any]:
    """:func:`_buy_variants` of the products' (default) variants."""
    return _buy_variants(list(ProductVariant.all_objects.filter(product__in=products)))


def _buy_variants(variants: list[ProductVariant]) -> Callable[[], Any]:
    """A user whose cart holds one of each variant (put in directly: the cart's own check
    of the rule is not what is tested); calling the result checks out."""
    user = UserFactory()
    cart = Cart.objects.create(user=user)
    for variant in variants:
        CartLine.objects.create(
            cart=cart, product_id=variant.product_id, variant=variant, quantity=1
        )
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
        {
            "product_id": product.pk,
            "variant_id": default_variant(product).pk,
            "requested": 1,
            "available": 0,
        }
    ]
    assert set(Product.all_objects.values_list("stock", flat=True)) == {5}  # all or nothing
    assert set(ProductVariant.all_objects.values_list("stock", flat=True)) == {5}
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


def test_checkout_follows_a_variant_rule_only_the_selectors_know(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new variant rule, written in the selectors only, decides what can be bought too."""
    shirt, (cheap, dear, other) = variant_product(prices=("10.00", "500.00", "20.00"))
    buy_dear = _buy_variants([dear])
    buy_cheap = _buy_variants([cheap])
    under_100 = visibility.PUBLIC_VARIANTS & Q(price__lt=100)
    monkeypatch.setattr(visibility, "PUBLIC_VARIANTS", under_100)

    buyable = set(visibility.purchasable_variants().values_list("pk", flat=True))
    assert buyable == {cheap.pk, other.pk}
    with pytest.raises(Conflict) as refused:
        buy_dear()
    assert refused.value.extra["lines"][0]["variant_id"] == dear.pk
    assert buy_cheap().status == 201
    assert list(
        ProductVariant.objects.filter(product=shirt).order_by("id").values_list("stock", flat=True)
    ) == [4, 5, 5]


# Webhooks hear of the crossings, not of every change ----------------------------------------------


@pytest.mark.parametrize(("before", "after"), STOCK_PAIRS)
def test_a_variant_is_announced_exactly_when_its_stock_crosses_zero(
    before: int, after: int, outbox: Outbox
) -> None:
    stock_changed(
        [StockChange(product_id=4, variant_id=40, sku="V-40", before=before, after=after)]
    )

    expected = []
    if crosses_zero(before=before, after=after):
        kind = "inventory.back_in_stock" if after else "inventory.out_of_stock"
        expected = [(kind, "product:4", 1)]
    assert outbox.kinds() == expected


def test_each_crossing_variant_is_one_event_in_the_order_given(outbox: Outbox) -> None:
    stock_changed(
        [
            StockChange(product_id=1, variant_id=12, sku="V-12", before=1, after=0),
            StockChange(product_id=1, variant_id=11, sku="V-11", before=5, after=4),
            StockChange(product_id=2, variant_id=21, sku="V-21", before=0, after=3),
            StockChange(product_id=1, variant_id=13, sku="V-13", before=2, after=0),
            StockChange(product_id=3, before=1, after=0),  # no variant behind it: no event
        ]
    )

    assert [(e.type, e.resource, e.sequence, e.data) for e in outbox.new()] == [
        (
            "inventory.out_of_stock",
            "product:1",
            1,
            {"product_id": 1, "variant_id": 12, "sku": "V-12", "stock": 0},
        ),
        (
            "inventory.back_in_stock",
            "product:2",
            1,
            {"product_id": 2, "variant_id": 21, "sku": "V-21", "stock": 3},
        ),
        (
            "inventory.out_of_stock",
            "product:1",
            2,
            {"product_id": 1, "variant_id": 13, "sku": "V-13", "stock": 0},
        ),
    ]


def test_a_variants_change_names_its_sku() -> None:
    with pytest.raises(TypeError, match="needs its sku"):
        StockChange(product_id=1, variant_id=11, before=1, after=0)


def test_a_sale_that_leaves_stock_emits_nothing_and_the_last_unit_emits_out_of_stock(
    outbox: Outbox,
) -> None:
    product, (small, _) = variant_product(stocks=(3, 5))
    buyer = UserFactory()
    outbox.new()

    def buy(quantity: int) -> None:
        holder = Holder(user=buyer, token=None)
        cart_add_item(holder=holder, variant_id=small.pk, quantity=quantity)
        checkout(
            user=buyer, cart_token=None, idempotency_key=str(uuid.uuid4()), render=lambda o: {}
        )

    buy(2)  # 3 -> 1: a sale, not a crossing
    assert [e.type for e in outbox.new()] == ["order.created"]
    buy(1)  # 1 -> 0: the last unit
    assert [(e.type, e.resource, e.data) for e in outbox.new()] == [
        (
            "inventory.out_of_stock",
            f"product:{product.pk}",
            {"product_id": product.pk, "variant_id": small.pk, "sku": small.sku, "stock": 0},
        ),
        ("order.created", ANY, ANY),
    ]


def test_returned_stock_from_zero_is_back_in_stock(outbox: Outbox) -> None:
    product = ProductFactory(stock=0)
    variant = default_variant(product)

    return_stock({variant.pk: 2})
    return_stock({variant.pk: 1})

    assert [(e.type, e.data) for e in outbox.new()] == [
        (
            "inventory.back_in_stock",
            {"product_id": product.pk, "variant_id": variant.pk, "sku": product.sku, "stock": 2},
        )
    ]
