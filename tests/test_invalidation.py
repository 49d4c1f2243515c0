"""nexus_shop.invalidation: listeners hear of committed changes only, each of them; which
product changes are membership changes, said once.

``MEMBERSHIP_FIELDS`` is the rule; ``services.catalog.product_update`` applies it and the
``Change`` docstring names it. The tests fail if the docstring leaves a field out, or if an
update of a field reports the wrong kind of change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

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
    "option_words": "option values",
    "sku": "sku",
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
    "sku": lambda: "ANOTHER-SKU",  # the default variant's: the search finds it exactly
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
    # deleted_at: the soft delete below; option_words: the variant services' tests.
    assert set(UPDATES) | {"deleted_at", "option_words"} == set(MEMBERSHIP_FIELDS)


def test_a_soft_delete_is_a_membership_change(
    changes: list[Change], django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        product_soft_delete(product_id=product.pk)
    assert [change.membership for change in changes] == [True]


@pytest.mark.parametrize(("field", "value"), [("slug", "another-slug"), ("stock", 9)])
def test_other_fields_are_not_membership_changes(
    field: str, value: Any, changes: list[Change], django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory(stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product_id=product.pk, **{field: value})
    assert [(change.product_ids, change.membership) for change in changes] == [
        (frozenset({product.pk}), False)
    ]


# Commit and rollback -------------------------------------------------------------------------

# Real commits and rollbacks: the test case's own transaction would hide both.
REAL = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


@REAL
def test_listeners_hear_of_a_change_when_its_transaction_commits(changes: list[Change]) -> None:
    with transaction.atomic():
        invalidation.products_changed(product_ids=[3, 1], membership=False)
        invalidation.categories_changed(category_ids={7})
        assert changes == []
    assert changes == [
        Change(product_ids=frozenset({1, 3}), membership=False),
        Change(category_ids=frozenset({7}), membership=True),
    ]


def _change_then_fail(*product_ids: int) -> None:
    with transaction.atomic():
        invalidation.products_changed(product_ids=product_ids)
        invalidation.catalogue_changed()
        raise Boom


@REAL
def test_a_rolled_back_change_is_never_heard(changes: list[Change]) -> None:
    with pytest.raises(Boom):
        _change_then_fail(1)
    with transaction.atomic():
        with pytest.raises(Boom):
            _change_then_fail(2)  # a savepoint rolled back
        invalidation.products_changed(product_ids=[3])
    assert changes == [Change(product_ids=frozenset({3}))]


@REAL
def test_nothing_is_sent_for_no_ids(changes: list[Change]) -> None:
    with transaction.atomic():
        invalidation.products_changed(product_ids=[])
        invalidation.categories_changed(category_ids=[])
    assert changes == []


@REAL
def test_the_whole_catalogue_is_one_change_and_runs_at_once_outside_a_transaction(
    changes: list[Change],
) -> None:
    invalidation.catalogue_changed()
    assert changes == [Change(membership=True, everything=True)]


@REAL
def test_a_listener_that_raises_is_logged_and_the_others_still_hear(
    changes: list[Change], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(change: Change) -> None:
        raise Boom("cache down")

    after: list[Change] = []
    invalidation.connect(broken)
    invalidation.connect(after.append)
    try:
        with transaction.atomic():
            invalidation.products_changed(product_ids=[5])
    finally:
        invalidation.disconnect(broken)
        invalidation.disconnect(after.append)
    change = Change(product_ids=frozenset({5}))
    assert changes == after == [change]
    failure = next(r for r in caplog.records if r.name == "nexus_shop.invalidation")
    assert failure.levelno == logging.ERROR
    assert failure.exc_info is not None
    assert failure.exc_info[0] is Boom


@REAL
def test_a_listener_connected_twice_hears_once_and_not_after_disconnect() -> None:
    seen: list[Change] = []
    invalidation.connect(seen.append)
    invalidation.connect(seen.append)
    invalidation.catalogue_changed()
    invalidation.disconnect(seen.append)
    invalidation.catalogue_changed()
    assert len(seen) == 1
