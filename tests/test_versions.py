"""``nexus_shop.versions``: a version follows the representation, and nothing else."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from nexus_shop.exceptions import PreconditionFailed
from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.selectors.products import attach_detail
from nexus_shop.versions import category_version, check, etag, product_version
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def product_now(product: Product) -> str:
    fresh = Product.all_objects.select_related("category").get(pk=product.pk)
    attach_detail([fresh], staff=True)  # its variants and images are part of the detail
    return product_version(fresh)


def category_now(category: Category, product_count: int = 0) -> str:
    fresh: Any = Category.objects.get(pk=category.pk)
    fresh.product_count = product_count
    return category_version(fresh)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Renamed"},
        {"slug": "renamed"},
        {"sku": "SKU-NEW"},
        {"description": "Other words."},
        {"price": Decimal("9.99")},  # the summary (price_max stays 10.00)
        {"stock": 4},
        {"is_active": False},
        {"currency": "EUR"},
    ],
)
def test_a_product_version_changes_with_each_field_its_detail_shows(change: dict[str, Any]) -> None:
    product = ProductFactory(stock=5, category=CategoryFactory())
    before = product_now(product)
    Product.all_objects.filter(pk=product.pk).update(**change)  # updated_at untouched
    assert product_now(product) != before


@pytest.mark.parametrize(
    "change",
    [
        {"sku": "SKU-NEW"},
        {"price": Decimal("10.01")},
        {"compare_at_price": Decimal("99.00")},
        {"stock": 4},
        {"is_active": False},
        {"position": 7},
        {"options": {"Size": "M"}},
    ],
)
def test_a_product_version_changes_with_each_field_of_its_variants(change: dict[str, Any]) -> None:
    product = ProductFactory(stock=5)
    before = product_now(product)
    ProductVariant.objects.filter(product=product).update(**change)  # variants only
    assert product_now(product) != before


def test_a_product_version_follows_its_category_name_but_not_the_rest() -> None:
    category = CategoryFactory()
    product = ProductFactory(category=category)
    before = product_now(product)

    Category.objects.filter(pk=category.pk).update(description="Not in a product's detail.")
    Product.all_objects.filter(pk=product.pk).update(deleted_at=timezone.now())  # not shown
    assert product_now(product) == before

    Category.objects.filter(pk=category.pk).update(name="Renamed")
    assert product_now(product) != before


def test_a_product_version_is_the_same_however_the_row_is_read() -> None:
    product = ProductFactory(category=CategoryFactory())
    loaded = Product.all_objects.select_related("category").get(pk=product.pk)
    attach_detail([loaded], staff=True)
    assert product_version(loaded) == product_now(product) == product_now(product)
    assert len(product_now(product)) == 32


def test_a_category_version_follows_its_fields_and_product_count_only() -> None:
    category = CategoryFactory()
    before = category_now(category)
    Category.objects.filter(pk=category.pk).update(path="/elsewhere/")  # not shown
    assert category_now(category) == before
    assert category_now(category, product_count=1) != before
    for change in ({"name": "N"}, {"slug": "n"}, {"description": "D"}):
        Category.objects.filter(pk=category.pk).update(**change)
        assert category_now(category) != before
        before = category_now(category)
    Category.objects.filter(pk=category.pk).update(parent=CategoryFactory())
    assert category_now(category) != before


def test_an_etag_is_the_version_quoted() -> None:
    assert etag("abc") == '"abc"'


def test_check_passes_without_a_precondition_for_any_tag_and_for_the_current_one() -> None:
    check("v2", None)
    check("v2", ("*",))
    check("v2", ("v1", "v2"))


@pytest.mark.parametrize("expected", [(), ("v1",), ("W/v2",), ('"v2"',), ("V2",)])
def test_check_refuses_any_other_tag_weak_ones_included(expected: tuple[str, ...]) -> None:
    # A weak tag (W/...) never matches: If-Match compares strongly.
    with pytest.raises(PreconditionFailed):
        check("v2", expected)
