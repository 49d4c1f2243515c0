"""``nexus_shop.invalidation``: listeners hear of committed changes only, each of them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.db import transaction

from nexus_shop import invalidation
from nexus_shop.invalidation import Change

# Real commits and rollbacks: the test case's own transaction would hide both.
pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


@pytest.fixture
def heard() -> Iterator[list[Change]]:
    seen: list[Change] = []
    invalidation.connect(seen.append)
    try:
        yield seen
    finally:
        invalidation.disconnect(seen.append)


def test_listeners_hear_of_a_change_when_its_transaction_commits(heard: list[Change]) -> None:
    with transaction.atomic():
        invalidation.products_changed(product_ids=[3, 1], membership=False)
        invalidation.categories_changed(category_ids={7})
        assert heard == []
    assert heard == [
        Change(product_ids=frozenset({1, 3}), membership=False),
        Change(category_ids=frozenset({7}), membership=True),
    ]


def _change_then_fail(*product_ids: int) -> None:
    with transaction.atomic():
        invalidation.products_changed(product_ids=product_ids)
        invalidation.catalogue_changed()
        raise Boom


def test_a_rolled_back_change_is_never_heard(heard: list[Change]) -> None:
    with pytest.raises(Boom):
        _change_then_fail(1)
    with transaction.atomic():
        with pytest.raises(Boom):
            _change_then_fail(2)  # a savepoint rolled back
        invalidation.products_changed(product_ids=[3])
    assert heard == [Change(product_ids=frozenset({3}))]


def test_nothing_is_sent_for_no_ids(heard: list[Change]) -> None:
    with transaction.atomic():
        invalidation.products_changed(product_ids=[])
        invalidation.categories_changed(category_ids=[])
    assert heard == []


def test_the_whole_catalogue_is_one_change_and_runs_at_once_outside_a_transaction(
    heard: list[Change],
) -> None:
    invalidation.catalogue_changed()
    assert heard == [Change(membership=True, everything=True)]


def test_a_listener_that_raises_is_logged_and_the_others_still_hear(
    heard: list[Change], caplog: pytest.LogCaptureFixture
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
    assert heard == after == [change]
    failure = next(r for r in caplog.records if r.name == "nexus_shop.invalidation")
    assert failure.levelno == logging.ERROR
    assert failure.exc_info is not None
    assert failure.exc_info[0] is Boom


def test_a_listener_connected_twice_hears_once_and_not_after_disconnect() -> None:
    seen: list[Change] = []
    invalidation.connect(seen.append)
    invalidation.connect(seen.append)
    invalidation.catalogue_changed()
    invalidation.disconnect(seen.append)
    invalidation.catalogue_changed()
    assert len(seen) == 1
