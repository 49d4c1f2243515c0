"""Category reads (``nexus_shop.selectors.categories``): pages, one category, counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from nexus_shop.exceptions import NotFound
from nexus_shop.schemas.catalog import CategoryListParams
from nexus_shop.selectors.categories import (
    attach_product_counts,
    category_get,
    category_list,
    category_written,
)
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, UserFactory

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

    page = category_list(
        params=CategoryListParams.model_validate({"page": 1, "page_size": 10}), viewer=None
    )

    assert [c.pk for c in page.items] == [root.pk, child.pk]
    assert [c.product_count for c in page.items] == [1, 1]
    assert page.count == 2


def test_category_get_counts_and_refuses_an_unknown_id() -> None:
    category = CategoryFactory()
    ProductFactory(category=category)
    assert category_get(category_id=category.pk, viewer=None).product_count == 1
    with pytest.raises(NotFound):
        category_get(category_id=category.pk + 1000, viewer=None)


# Soft-deleted categories ---------------------------------------------------------------------


def _ids(viewer: Any, *, include_deleted: bool) -> set[int]:
    params = CategoryListParams.model_validate({"include_deleted": include_deleted})
    return {c.pk for c in category_list(params=params, viewer=viewer).items}


def test_a_deleted_category_is_hidden_unless_category_staff_ask_for_it() -> None:
    live = CategoryFactory()
    deleted = CategoryFactory(deleted_at=timezone.now())
    staff = StaffFactory(perms=["delete_category"])
    product_staff = StaffFactory(perms=["add_product", "change_product", "delete_product"])

    for viewer in (None, UserFactory(), product_staff, staff):
        assert _ids(viewer, include_deleted=False) == {live.pk}
        with pytest.raises(NotFound):
            category_get(category_id=deleted.pk, viewer=viewer)
    for viewer in (None, UserFactory(), product_staff):  # include_deleted ignored
        assert _ids(viewer, include_deleted=True) == {live.pk}
        with pytest.raises(NotFound):
            category_get(category_id=deleted.pk, viewer=viewer, include_deleted=True)
    assert _ids(staff, include_deleted=True) == {live.pk, deleted.pk}
    shown = category_get(category_id=deleted.pk, viewer=staff, include_deleted=True)
    assert (shown.pk, shown.product_count) == (deleted.pk, 0)


def test_counts_leave_deleted_categories_out() -> None:
    root = CategoryFactory()
    ProductFactory(category=root)
    CategoryFactory(parent=root, deleted_at=timezone.now())
    attach_product_counts([root])
    assert root.product_count == 1


def test_category_written_reads_any_state() -> None:
    deleted = CategoryFactory(deleted_at=timezone.now())
    assert category_written(category_id=deleted.pk).pk == deleted.pk
    with pytest.raises(NotFound):
        category_written(category_id=deleted.pk + 1000)
