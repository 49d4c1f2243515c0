"""Product reads (``nexus_shop.selectors.products``) seen through the visibility rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from nexus_shop.exceptions import NotFound
from nexus_shop.schemas.catalog import ProductFilter
from nexus_shop.selectors.products import filtered_products, product_get, product_list
from tests.factories import CategoryFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_product_get_hides_what_the_viewer_may_not_see() -> None:
    inactive = ProductFactory(is_active=False)
    deleted = ProductFactory(deleted_at=timezone.now())
    staff = UserFactory(perms=["change_product"])
    for product in (inactive, deleted):
        with pytest.raises(NotFound):
            product_get(product_id=product.pk, viewer=None, include_deleted=True)
    assert product_get(product_id=inactive.pk, viewer=staff) == inactive
    with pytest.raises(NotFound):
        product_get(product_id=deleted.pk, viewer=staff)
    assert product_get(product_id=deleted.pk, viewer=staff, include_deleted=True) == deleted


def test_product_list_holds_visible_products_only() -> None:
    public = ProductFactory()
    inactive = ProductFactory(is_active=False)
    ProductFactory(deleted_at=timezone.now())
    staff = UserFactory(perms=["add_product"])

    def ids(viewer: Any) -> set[int]:
        page = product_list(filters=ProductFilter.model_validate({}), viewer=viewer)
        return {p.pk for p in page.items}

    assert ids(None) == {public.pk}
    assert ids(staff) == {public.pk, inactive.pk}


def test_every_filter_narrows() -> None:
    shoes = CategoryFactory(slug="shoes")
    cheap = ProductFactory(category=shoes, price=Decimal("5.00"), stock=0)
    dear = ProductFactory(category=shoes, price=Decimal("50.00"))
    ProductFactory(price=Decimal("50.00"))

    def ids(**filters: Any) -> set[int]:
        found = filtered_products(filters=ProductFilter.model_validate(filters), viewer=None)
        return set(found.values_list("pk", flat=True))

    assert ids(category="shoes") == {cheap.pk, dear.pk}
    assert ids(category="shoes", min_price=Decimal("10")) == {dear.pk}
    assert ids(category="shoes", max_price=Decimal("10")) == {cheap.pk}
    assert ids(category="shoes", in_stock=True) == {dear.pk}
    assert ids(category="shoes", in_stock=False) == {cheap.pk}
