"""nexus_shop.invalidation: which product changes are membership changes, said once.

``MEMBERSHIP_FIELDS`` is the rule; ``services.catalog.product_update`` applies it and the
``Change`` docstring names it. The tests fail if the docstring leaves a field out, or if an
update of a field reports the wrong kind of change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from nexus_shop import invalidation
from nexus_shop.invalidation import MEMBERSHIP_FIELDS, Change
from nexus_shop.services.catalog import product_soft_delete, product_update
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

# How the Change docstring says each field.
SAID_AS = {
    "name": "name",
    "description": "description",
    "price": "price",
    "category_id": "category",
    "is_active": "``is_active``",
    "deleted_at": "deletion",
}


def test_the_change_docstring_names_every_membership_field() -> None:
    assert set(SAID_AS) == set(MEMBERSHIP_FIELDS)
    doc = " ".join((Change.__doc__ or "").split())
    listed = doc.split(":data:`MEMBERSHIP_FIELDS`")[1].split(")")[0]
    for field in MEMBERSHIP_FIELDS:
        assert SAID_AS[field] in listed, field


@pytest.fixture
def changes() -> Iterator[list[Change]]:
    received: list[Change] = []
    invalidation.connect(received.append)
    yield received
    invalidation.disconnect(received.append)


# A new value for each membership field that product_update takes.
UPDATES: dict[str, Callable[[], Any]] = {
    "name": lambda: "Another name",
    "description": lambda: "Another description",
    "price": lambda: Decimal("123.45"),
    "category_id": lambda: CategoryFactory().pk,
    "is_active": lambda: False,
}


@pytest.mark.parametrize("field", list(UPDATES))
def test_updating_a_membership_field_is_a_membership_change(
    field: str, changes: list[Change], django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory(stock=5, is_active=True)
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product_id=product.pk, **{field: UPDATES[field]()})
    assert [change.membership for change in changes] == [True]


def test_every_membership_field_is_covered() -> None:
    assert set(UPDATES) | {"deleted_at"} == set(MEMBERSHIP_FIELDS)


def test_a_soft_delete_is_a_membership_change(
    changes: list[Change], django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        product_soft_delete(product_id=product.pk)
    assert [change.membership for change in changes] == [True]


@pytest.mark.parametrize(
    ("field", "value"), [("sku", "ANOTHER-SKU"), ("slug", "another-slug"), ("stock", 9)]
)
def test_other_fields_are_not_membership_changes(
    field: str, value: Any, changes: list[Change], django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory(stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product_id=product.pk, **{field: value})
    assert [(change.product_ids, change.membership) for change in changes] == [
        (frozenset({product.pk}), False)
    ]
