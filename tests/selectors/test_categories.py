"""Category reads (``nexus_shop.selectors.categories``): pages, one category, counts."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nexus_shop.exceptions import NotFound
from nexus_shop.schemas.catalog import PageParams
from nexus_shop.selectors.categories import attach_product_counts, category_get, category_list
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_product_counts_roll_up_the_subtree_and_count_public_products_only() -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    other = CategoryFactory()
    ProductFactory(category=root)
    ProductFactory.create_batch(2, category=child)
    ProductFactory(category=child, is_active=False)
    ProductFactory(category=child, deleted_at=timezone.now())
    ProductFactory(category=other)

    attach_product_counts([root, child, other])

    assert (root.product_count, child.product_count, other.product_count) == (3, 2, 1)


def test_category_list_pages_in_tree_order_with_counts() -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    ProductFactory(category=child)

    page = category_list(params=PageParams.model_validate({"page": 1, "page_size": 10}))

    assert [c.pk for c in page.items] == [root.pk, child.pk]
    assert [c.product_count for c in page.items] == [1, 1]
    assert page.count == 2


def test_category_get_counts_and_refuses_an_unknown_id() -> None:
    category = CategoryFactory()
    ProductFactory(category=category)
    assert category_get(category_id=category.pk).product_count == 1
    with pytest.raises(NotFound):
        category_get(category_id=category.pk + 1000)
