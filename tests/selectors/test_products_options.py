"""``option=`` and the per-variant filters of the product list (``selectors.products``).

One rule: a product matches when **one** live, active variant matches every option filter
(ANDed across names, ORed within a name) and the price bounds and ``in_stock``, together.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from nexus_shop.models import ProductVariant
from nexus_shop.schemas.catalog import ProductFilter
from nexus_shop.selectors.products import product_list
from nexus_shop.services.variants import variant_update
from tests.factories import ProductFactory
from tests.support.catalogue import product_with, tee

pytestmark = pytest.mark.django_db


def listed(**params: Any) -> list[str]:
    filters = ProductFilter.model_validate({"page_size": 100, "ordering": "name", **params})
    return [p.name for p in product_list(filters=filters, viewer=None).items]


@pytest.fixture
def shop() -> None:
    tee("Tee")
    product_with("Mug", [({"Colour": "Red"}, "8.00", 5), ({"Colour": "White"}, "6.00", 0)])
    ProductFactory(name="Plain", price=Decimal("12.00"), stock=4)  # no options


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"option": ["size:M"]}, ["Tee"]),
        ({"option": ["colour:red"]}, ["Mug", "Tee"]),
        ({"option": ["COLOUR:Red"]}, ["Mug", "Tee"]),  # casefolded
        ({"option": ["colour:white"]}, ["Mug"]),
        # ORed within a name, ANDed across names.
        ({"option": ["size:xl", "size:l"]}, ["Tee"]),
        ({"option": ["size:m", "colour:white"]}, []),
        ({"option": ["size:l", "colour:blue"]}, []),  # no blue L, though L and blue exist
        ({"option": ["size:s", "size:l", "colour:blue"]}, ["Tee"]),
        # An unknown name or value matches nothing; it is no error.
        ({"option": ["material:wool"]}, []),
        ({"option": ["size:xxl"]}, []),
    ],
)
def test_options_match_one_variant(params: dict[str, Any], names: list[str]) -> None:
    assert listed(**params) == names


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize(
    ("params", "names"),
    [
        # A red M under 20 in stock is one variant (Tee's M/Red, 15, stock 2).
        ({"option": ["colour:red", "size:m"], "max_price": "20", "in_stock": "true"}, ["Tee"]),
        # Red under 12 in stock: the Tee's red S costs 10 but has no stock; the mug's red
        # costs 8 and has stock.
        ({"option": ["colour:red"], "max_price": "12", "in_stock": "true"}, ["Mug"]),
        # Blue at 15 to 17: the Tee has a blue (12, 18) and a 15 (red): not one variant.
        ({"option": ["colour:blue"], "min_price": "15", "max_price": "17"}, []),
        # in_stock=false: some matching variant, and none of the matching ones has stock.
        ({"option": ["colour:blue", "size:m"], "in_stock": "false"}, ["Tee"]),
        ({"option": ["colour:blue"], "in_stock": "false"}, []),
        ({"option": ["colour:white"], "in_stock": "false"}, ["Mug"]),
    ],
)
def test_prices_and_stock_apply_to_the_same_variant(
    params: dict[str, Any], names: list[str]
) -> None:
    assert listed(**params) == names


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize(
    ("params", "names"),
    [
        # Without options: a product matches when one variant is in the range...
        ({"min_price": "16", "max_price": "17"}, []),  # Tee 15 and 18: none between
        ({"min_price": "11", "max_price": "13"}, ["Plain", "Tee"]),
        ({"min_price": "7", "max_price": "9"}, ["Mug"]),
        # ...and in stock, that same variant.
        ({"max_price": "11", "in_stock": "true"}, ["Mug"]),  # Tee's 10 has no stock
        ({"min_price": "20", "in_stock": "true"}, ["Tee"]),  # the L at 25, stock 1
        # in_stock=false: none of the variants in the range has stock (the mug's 8 has).
        ({"max_price": "11", "in_stock": "false"}, ["Tee"]),
        ({"min_price": "11", "in_stock": "false"}, []),  # Tee's M/Blue at 18 has none, but
        # its S/Blue at 12 has: not every matching variant is sold out.
        # in_stock alone describes the product: some active variant has stock.
        ({"in_stock": "true"}, ["Mug", "Plain", "Tee"]),
        ({"in_stock": "false"}, []),
    ],
)
def test_without_options_the_same_variant_rule_holds(
    params: dict[str, Any], names: list[str]
) -> None:
    assert listed(**params) == names


def test_in_stock_false_needs_every_matching_variant_sold_out() -> None:
    # The rule is "no matching variant has stock": only a product with every variant of
    # 11 or more sold out is listed, not one with some sold out (the Tee's M/Blue).
    tee("Tee")
    sold_out = product_with("Cap", [({"Size": "S"}, "20.00", 0), ({"Size": "M"}, "30.00", 0)])
    assert listed(min_price="11", in_stock="false") == [sold_out.name]


def test_filters_choose_products_not_what_they_show() -> None:
    product = tee("Tee")
    [shown] = product_list(
        filters=ProductFilter.model_validate({"option": ["size:l"], "max_price": "30"}),
        viewer=None,
    ).items
    assert shown.pk == product.pk
    assert (shown.price, shown.price_range) == (
        Decimal("10.00"),
        {"min": Decimal("10.00"), "max": Decimal("25.00")},
    )
    assert shown.stock == 6
    assert shown.in_stock


def test_ordering_by_price_sorts_by_the_products_price() -> None:
    # The Tee's red L (25) matches, but it sorts at its own price, 10.
    tee("Tee")
    product_with("Scarf", [({"Colour": "Red"}, "20.00", 1)])
    assert listed(option=["colour:red"], min_price="20", ordering="price") == ["Tee", "Scarf"]
    assert listed(option=["colour:red"], min_price="20", ordering="-price") == ["Scarf", "Tee"]


def test_inactive_and_deleted_variants_never_match() -> None:
    product = tee("Tee")
    large = ProductVariant.objects.get(product=product, options={"Size": "L", "Colour": "Red"})
    assert listed(option=["size:l"]) == ["Tee"]
    variant_update(product_id=product.pk, variant_id=large.pk, is_active=False)
    assert listed(option=["size:l"]) == []
    assert listed(min_price="20") == []
    ProductVariant.objects.filter(pk=large.pk).update(is_active=True, deleted_at=timezone.now())
    assert listed(option=["size:l"]) == []


def test_option_filters_page_and_count_like_any_list() -> None:
    for i in range(5):
        tee(f"Tee {i}", sku=f"T{i}")
    filters = ProductFilter.model_validate({"option": ["size:m"], "page_size": 2})
    page = product_list(filters=filters, viewer=None)
    assert (page.count, page.count_exact, len(page.items)) == (5, True, 2)
    assert page.next_cursor is not None
