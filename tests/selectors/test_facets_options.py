"""Option facets and price buckets by matching variant (``selectors.facets``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from nexus_shop.schemas.catalog import ProductFacetsParams, ProductFilter
from nexus_shop.selectors.facets import MAX_OPTION_VALUES_SHOWN, ProductFacets, product_facets
from nexus_shop.selectors.products import product_list
from tests.factories import ProductFactory
from tests.support.catalogue import product_with, tee

pytestmark = pytest.mark.django_db


def facets(**params: Any) -> ProductFacets:
    return product_facets(params=ProductFacetsParams.model_validate(params), viewer=None)


def options(result: ProductFacets) -> dict[str, dict[str, int]]:
    return {o.name: {v.value: v.count for v in o.values} for o in result.options}


def listed_count(**params: Any) -> int:
    page = product_list(filters=ProductFilter.model_validate(params), viewer=None)
    assert page.count is not None
    return page.count


@pytest.fixture
def shop() -> None:
    tee("Tee A", sku="A")
    product_with(
        "Tee B",
        [
            ({"Size": "M", "Colour": "Green"}, "30.00", 1),
            ({"Size": "XL", "Colour": "Red"}, "40.00", 0),
        ],
        sku="B",
    )
    product_with("Mug", [({"Colour": "Red"}, "8.00", 5)])
    ProductFactory(name="Plain", price=Decimal("12.00"))


@pytest.mark.usefixtures("shop")
def test_every_option_of_the_matches_with_its_value_counts() -> None:
    result = facets()
    assert options(result) == {
        "Colour": {"Red": 3, "Blue": 1, "Green": 1},
        "Size": {"M": 2, "S": 1, "L": 1, "XL": 1},
    }
    # The most frequent option first, each option's values by count.
    assert [o.name for o in result.options] == ["Colour", "Size"]
    assert [v.value for v in result.options[1].values][:1] == ["M"]


@pytest.mark.usefixtures("shop")
def test_a_names_own_selection_is_ignored_when_counting_its_values() -> None:
    result = facets(option=["size:m"])
    assert result.count == 2
    # Size: what each size alone would give (the other filters kept); Colour: among size M.
    assert options(result) == {
        "Size": {"M": 2, "S": 1, "L": 1, "XL": 1},
        "Colour": {"Red": 1, "Blue": 1, "Green": 1},
    }
    for size, count in options(result)["Size"].items():
        assert listed_count(option=[f"size:{size}"]) == count


@pytest.mark.usefixtures("shop")
def test_option_counts_follow_the_same_variant_rule() -> None:
    # In stock and red: Tee A's M/Red and L/Red, the mug; Tee B's red XL has no stock.
    result = facets(option=["colour:red"], in_stock="true")
    assert result.count == 2
    assert options(result)["Colour"] == {"Red": 2, "Blue": 1, "Green": 1}
    # Sizes of the red variants in stock only: Tee A's S/Red has none.
    assert options(result)["Size"] == {"M": 1, "L": 1}
    for colour, count in options(result)["Colour"].items():
        assert listed_count(option=[f"colour:{colour}"], in_stock="true") == count
    for size, count in options(result)["Size"].items():
        assert listed_count(option=["colour:red", f"size:{size}"], in_stock="true") == count


@pytest.mark.usefixtures("shop")
def test_option_counts_with_in_stock_false_count_what_each_value_would_list() -> None:
    result = facets(option=["colour:red"], in_stock="false")
    for colour, count in options(result)["Colour"].items():
        assert listed_count(option=[f"colour:{colour}"], in_stock="false") == count
    for size, count in options(result).get("Size", {}).items():
        assert listed_count(option=["colour:red", f"size:{size}"], in_stock="false") == count


@pytest.mark.usefixtures("shop")
def test_price_buckets_count_each_product_once_by_its_lowest_matching_price() -> None:
    # Red: Tee A at 10 (its S), Tee B at 40 (its XL), the mug at 8.
    result = facets(option=["colour:red"])
    buckets = {b.min: b.count for b in result.price_buckets if b.count}
    assert buckets == {Decimal(0): 1, Decimal(10): 1, Decimal(25): 1}
    assert sum(b.count for b in result.price_buckets) == result.count == 3
    # In stock and at least 12: Tee A's S/Blue (12); Tee B's M (30); the plain one at 12.
    result = facets(min_price="12", in_stock="true")
    buckets = {b.min: b.count for b in result.price_buckets if b.count}
    assert buckets == {Decimal(10): 2, Decimal(25): 1}
    assert sum(b.count for b in result.price_buckets) == result.count


def test_at_most_fifty_values_an_option_the_most_frequent_first() -> None:
    values = [f"V{i:03d}" for i in range(MAX_OPTION_VALUES_SHOWN + 10)]
    product_with("Big", [({"Shade": v}, "1.00", 1) for v in values], sku="BIG")
    product_with("Small", [({"Shade": "V059"}, "1.00", 1)], sku="SMALL")
    [shade] = facets().options
    assert len(shade.values) == MAX_OPTION_VALUES_SHOWN
    assert (shade.values[0].value, shade.values[0].count) == ("V059", 2)


def test_names_and_values_group_ignoring_case_shown_in_one_display_form() -> None:
    product_with("One", [({"Colour": "Red"}, "1.00", 1)], sku="ONE")
    product_with("Two", [({"COLOUR": "red"}, "1.00", 1)], sku="TWO")
    [colour] = facets().options
    assert colour.name in {"Colour", "COLOUR"}
    assert [(v.value in {"Red", "red"}, v.count) for v in colour.values] == [(True, 2)]


@override_settings(NEXUS_SHOP_EXACT_COUNT_LIMIT=3)
def test_past_the_count_limit_option_counts_are_over_the_first_matches() -> None:
    for i in range(6):
        tee(f"Tee {i}", sku=f"T{i}")
    result = facets(option=["size:m"])
    assert (result.count, result.count_exact) == (3, False)
    assert all(v.count <= 4 for o in result.options for v in o.values)


def test_an_unknown_option_matches_nothing() -> None:
    tee()
    result = facets(option=["fabric:wool"])
    assert result.count == 0
    # Its own selection ignored, the other options show nothing either (no match).
    assert options(result) == {}
