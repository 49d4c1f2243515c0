"""The outbox writer: an event per call, in the caller's transaction, numbered per resource."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from nexus_shop.models import Event, EventStream
from nexus_shop.services import events

pytestmark = pytest.mark.django_db

PING = {"endpoint_id": 1}


def test_each_resource_numbers_its_events_from_one() -> None:
    with transaction.atomic():
        first = events.emit(type="webhook.ping", resource_id=1, data=PING)
        second = events.emit(type="webhook.ping", resource_id=1, data=PING)
        other = events.emit(type="webhook.ping", resource_id=2, data=PING)
    assert first is not None
    assert second is not None
    assert other is not None
    assert (first.resource, first.sequence) == ("endpoint:1", 1)
    assert (second.resource, second.sequence) == ("endpoint:1", 2)
    assert (other.resource, other.sequence) == ("endpoint:2", 1)
    assert EventStream.objects.get(resource="endpoint:1").last_sequence == 2
    assert first.public_id == f"evt_{first.pk}"


def test_the_returned_event_is_the_stored_row() -> None:
    data = {"endpoint_id": 1, "nested": {"list": [1, "two", None]}, "text": "ünïcode"}
    with transaction.atomic():
        events.emit(type="webhook.ping", resource_id=5, data=PING)
        event = events.emit(type="webhook.ping", resource_id=5, data=data)
    assert event is not None
    stored = Event.objects.get(pk=event.pk)
    fields = ("type", "resource", "sequence", "transaction_id", "data", "created_at", "fanned_out")
    assert [getattr(stored, f) for f in fields] == [getattr(event, f) for f in fields]
    assert (stored.sequence, stored.data, stored.fanned_out) == (2, data, False)
    assert not event._state.adding


def test_postgresql_records_the_writing_transaction() -> None:
    with transaction.atomic():
        event = events.emit(type="webhook.ping", resource_id=1, data=PING)
    assert event is not None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            (current,) = cursor.fetchone()
        assert event.transaction_id == current  # the test's own (outer) transaction
    else:
        assert event.transaction_id is None


def test_a_rolled_back_change_leaves_no_event_and_no_number() -> None:
    def change() -> None:
        with transaction.atomic():
            events.emit(type="webhook.ping", resource_id=3, data=PING)
            raise ZeroDivisionError  # the change fails after its event was written

    with pytest.raises(ZeroDivisionError):
        change()
    assert not Event.objects.exists()
    assert not EventStream.objects.filter(resource="endpoint:3").exists()


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown event type 'product\.sold'"):
        events.emit(type="product.sold", resource_id=1, data={})


def test_suppressed_emits_nothing() -> None:
    with events.suppressed(), transaction.atomic():
        assert events.emit(type="webhook.ping", resource_id=1, data=PING) is None
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_emit_refuses() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.emit(type="webhook.ping", resource_id=1, data=PING)
    assert not Event.objects.exists()


def test_active_is_false_only_while_suppressed() -> None:
    assert events.active()
    with events.suppressed():
        assert not events.active()
    assert events.active()


# coalesced() -----------------------------------------------------------------------------------


def product_event(type: str, product_id: int, version: int) -> None:
    events.emit(type=type, resource_id=product_id, data={"version": version})


def written() -> list[tuple[str, str, int, Any]]:
    return [(e.type, e.resource, e.sequence, e.data) for e in Event.objects.order_by("pk")]


def test_coalesced_writes_nothing_until_the_block_ends() -> None:
    with events.coalesced():
        product_event("product.updated", 1, 1)
        assert not Event.objects.exists()
    assert written() == [("product.updated", "product:1", 1, {"version": 1})]


@pytest.mark.parametrize("first", ["product.created", "product.updated", "product.restored"])
def test_an_update_folds_into_its_resources_last_event_keeping_its_type(first: str) -> None:
    with events.coalesced():
        product_event(first, 1, 1)
        product_event("product.updated", 2, 1)
        product_event("product.updated", 1, 2)
        product_event("product.updated", 1, 3)
    assert written() == [
        (first, "product:1", 1, {"version": 3}),
        ("product.updated", "product:2", 1, {"version": 1}),
    ]


def test_other_events_are_written_as_emitted_and_an_update_after_them_is_kept() -> None:
    stock = {"product_id": 1, "variant_id": 7, "sku": "V", "stock": 0}
    with events.coalesced():
        product_event("product.updated", 1, 1)
        events.emit(type="inventory.out_of_stock", resource_id=1, data=stock)
        product_event("product.updated", 1, 2)  # the last of product:1 is not an update
        product_event("product.deleted", 1, 3)  # never folded
        product_event("product.updated", 1, 4)  # nor folded into a delete
    assert [(t, s, d) for t, _, s, d in written()] == [
        ("product.updated", 1, {"version": 1}),
        ("inventory.out_of_stock", 2, stock),
        ("product.updated", 3, {"version": 2}),
        ("product.deleted", 4, {"version": 3}),
        ("product.updated", 5, {"version": 4}),
    ]


def test_a_failing_coalesced_block_rolls_its_changes_back_with_its_events() -> None:
    def block() -> None:
        with events.coalesced():
            EventStream.objects.create(resource="marker", last_sequence=1)  # its change
            product_event("product.updated", 1, 1)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        block()
    assert not EventStream.objects.exists()
    assert not Event.objects.exists()
    with transaction.atomic():  # and nothing is left held for the next write
        product_event("product.updated", 1, 2)
    assert written() == [("product.updated", "product:1", 1, {"version": 2})]


def test_a_nested_coalesced_block_hands_its_events_to_the_outer_one() -> None:
    with events.coalesced():
        product_event("product.created", 1, 1)
        with events.coalesced():
            product_event("product.updated", 1, 2)
        assert not Event.objects.exists()
    assert written() == [("product.created", "product:1", 1, {"version": 2})]


def test_suppressed_inside_coalesced_holds_nothing() -> None:
    with events.coalesced(), events.suppressed():
        product_event("product.updated", 1, 1)
    assert not Event.objects.exists()
