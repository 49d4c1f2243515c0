"""The category tree has a maximum depth: past it, create and move are a 422, never a 500.

A chain of a few hundred categories once overflowed ``path`` (varchar 1024): a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from nexus_shop.conf import CATEGORY_DEPTH_LIMIT
from nexus_shop.models import Category
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def _chain(levels: int, *, first_id: int | None = None) -> list[Any]:
    chain: list[Any] = []
    for level in range(levels):
        extra = {} if first_id is None else {"id": first_id + level}
        chain.append(CategoryFactory(parent=chain[-1] if chain else None, **extra))
    return chain


def _create(client: Client, parent_id: int | None) -> Any:
    return client.post(
        "/api/categories",
        {"name": "Deeper", "parent_id": parent_id},
        content_type="application/json",
    )


def _assert_too_deep(response: Any) -> None:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["field"] == "parent_id"
    assert "at most" in body["detail"]


def test_the_default_maximum_is_32_levels(staff_client: Client) -> None:
    chain = _chain(31)
    response = _create(staff_client, chain[-1].pk)  # level 32
    assert response.status_code == 201, response.content
    _assert_too_deep(_create(staff_client, response.json()["id"]))  # level 33
    assert Category.objects.count() == 32


@override_settings(NEXUS_SHOP_CATEGORY_MAX_DEPTH=CATEGORY_DEPTH_LIMIT)
def test_the_largest_allowed_depth_fits_in_path_whatever_the_ids(staff_client: Client) -> None:
    # 19-digit ids: the widest a path can get, level for level.
    chain = _chain(CATEGORY_DEPTH_LIMIT - 1, first_id=10**18)
    response = _create(staff_client, chain[-1].pk)
    assert response.status_code == 201, response.content
    _assert_too_deep(_create(staff_client, response.json()["id"]))


@override_settings(NEXUS_SHOP_CATEGORY_MAX_DEPTH=4)
def test_a_move_counts_the_subtree_it_carries(staff_client: Client) -> None:
    a1, a2, a3 = _chain(3)
    b1, b2 = _chain(2)
    path = f"/api/categories/{b1.pk}"
    # Under a3, b1 would be level 4 and b2 level 5.
    _assert_too_deep(
        staff_client.patch(path, {"parent_id": a3.pk}, content_type="application/json")
    )
    b2.refresh_from_db()
    assert b2.path == f"/{b1.pk}/{b2.pk}/"
    # Under a2: levels 3 and 4, allowed.
    response = staff_client.patch(path, {"parent_id": a2.pk}, content_type="application/json")
    assert response.status_code == 200, response.content
    b2.refresh_from_db()
    assert b2.path == f"/{a1.pk}/{a2.pk}/{b1.pk}/{b2.pk}/"
    # Moving a leaf to the top is always allowed.
    response = staff_client.patch(
        f"/api/categories/{b2.pk}", {"parent_id": None}, content_type="application/json"
    )
    assert response.status_code == 200
