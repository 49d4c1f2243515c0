"""Concurrent writes on PostgreSQL: each ends in a 2xx or a 4xx, never a 500.

Real threads, real transactions (``transaction=True``), each request on its own connection.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Category, Product
from nexus_shop.services import catalog as services
from tests.conftest import bearer
from tests.factories import StaffFactory
from tests.support.race import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 25


def _race(*calls: Callable[[Client], Any], headers: dict[str, str]) -> list[int]:
    """Run ``calls`` at the same moment, one thread, client and connection each."""

    def with_client(call: Callable[[Client], Any]) -> Any:
        return call(Client(headers=headers, raise_request_exception=False))

    outcomes = race([functools.partial(with_client, call) for call in calls])
    return [outcome.status_code for outcome in outcomes]


def test_deleting_a_category_while_a_product_is_created_in_it() -> None:
    headers = bearer(StaffFactory())
    outcomes: Counter[tuple[int, int]] = Counter()
    for i in range(ROUNDS):
        category = services.category_create(name=f"Race {i}")

        def delete_it(c: Client, pk: int = category.pk) -> Any:
            return c.delete(f"/api/categories/{pk}")

        def create_in_it(c: Client, pk: int = category.pk, i: int = i) -> Any:
            return c.post(
                "/api/products",
                {"name": f"P{i}", "sku": f"RACE-{i}", "price": "1", "stock": 1, "category_id": pk},
                content_type="application/json",
            )

        delete, create = _race(delete_it, create_in_it, headers=headers)
        outcomes[(delete, create)] += 1
        # Either the delete won (the product was refused) or the product won (delete refused).
        assert (delete, create) in {(204, 422), (409, 201)}, (delete, create)
        assert Category.objects.filter(pk=category.pk).exists() == (create == 201)
        assert Product.objects.filter(sku=f"RACE-{i}").exists() == (create == 201)


def test_deleting_a_category_while_its_deleted_child_is_restored() -> None:
    """The restore holds the parent as a create in it does: never a live child under a
    deleted parent."""
    headers = bearer(StaffFactory())
    for i in range(ROUNDS):
        parent = services.category_create(name=f"Parent {i}")
        child = services.category_create(name=f"Child {i}", parent_id=parent.pk)
        services.category_delete(category_id=child.pk)

        def delete_parent(c: Client, pk: int = parent.pk) -> Any:
            return c.delete(f"/api/categories/{pk}")

        def restore_child(c: Client, pk: int = child.pk) -> Any:
            return c.post(f"/api/categories/{pk}/restore")

        delete, restore = _race(delete_parent, restore_child, headers=headers)
        assert (delete, restore) in {(204, 409), (409, 200)}, (delete, restore)
        assert Category.objects.filter(pk=parent.pk).exists() == (restore == 200)
        assert Category.objects.filter(pk=child.pk).exists() == (restore == 200)


def test_two_categories_swapping_parents_never_deadlock_or_cycle() -> None:
    headers = bearer(StaffFactory())
    for i in range(ROUNDS):
        a = services.category_create(name=f"A{i}")
        b = services.category_create(name=f"B{i}")

        def move(c: Client, child: int, parent: int) -> Any:
            return c.patch(
                f"/api/categories/{child}", {"parent_id": parent}, content_type="application/json"
            )

        first, second = _race(
            functools.partial(move, child=a.pk, parent=b.pk),
            functools.partial(move, child=b.pk, parent=a.pk),
            headers=headers,
        )
        # One move wins; the other would make a cycle and is refused.
        assert sorted((first, second)) == [200, 422], (first, second)
        a.refresh_from_db()
        b.refresh_from_db()
        assert not (a.parent_id == b.pk and b.parent_id == a.pk)
        assert a.path.endswith(f"/{a.pk}/")
        assert b.path.endswith(f"/{b.pk}/")
