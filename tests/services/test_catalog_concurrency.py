"""Concurrent writes on PostgreSQL: each ends in a 2xx or a 4xx, never a 500.

Real threads, real transactions (``transaction=True``), each request on its own connection.
"""

from __future__ import annotations

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
    outcomes = race(
        [
            lambda call=call: call(Client(headers=headers, raise_request_exception=False))
            for call in calls
        ]
    )
    return [outcome.status_code for outcome in outcomes]


def test_deleting_a_category_while_a_product_is_created_in_it() -> None:
    headers = bearer(StaffFactory())
    outcomes: Counter[tuple[int, int]] = Counter()
    for i in range(ROUNDS):
        category = services.category_create(name=f"Race {i}")
        delete, create = _race(
            lambda c, pk=category.pk: c.delete(f"/api/categories/{pk}"),
            lambda c, pk=category.pk, i=i: c.post(
                "/api/products",
                {"name": f"P{i}", "sku": f"RACE-{i}", "price": "1", "stock": 1, "category_id": pk},
                content_type="application/json",
            ),
            headers=headers,
        )
        outcomes[(delete, create)] += 1
        # Either the delete won (the product was refused) or the product won (delete refused).
        assert (delete, create) in {(204, 422), (409, 201)}, (delete, create)
        assert Category.objects.filter(pk=category.pk).exists() == (create == 201)
        assert Product.objects.filter(sku=f"RACE-{i}").exists() == (create == 201)


def test_two_categories_swapping_parents_never_deadlock_or_cycle() -> None:
    headers = bearer(StaffFactory())
    for i in range(ROUNDS):
        a = services.category_create(name=f"A{i}")
        b = services.category_create(name=f"B{i}")
        first, second = _race(
            lambda c, a=a, b=b: c.patch(
                f"/api/categories/{a.pk}", {"parent_id": b.pk}, content_type="application/json"
            ),
            lambda c, a=a, b=b: c.patch(
                f"/api/categories/{b.pk}", {"parent_id": a.pk}, content_type="application/json"
            ),
            headers=headers,
        )
        # One move wins; the other would make a cycle and is refused.
        assert sorted((first, second)) == [200, 422], (first, second)
        a.refresh_from_db()
        b.refresh_from_db()
        assert not (a.parent_id == b.pk and b.parent_id == a.pk)
        assert a.path.endswith(f"/{a.pk}/")
        assert b.path.endswith(f"/{b.pk}/")
