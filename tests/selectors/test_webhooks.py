"""Webhook reads: endpoints, deliveries with their attempts, event types, the events feed."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nexus_shop.events import EVENT_TYPES
from nexus_shop.exceptions import NotFound, ValidationFailed
from nexus_shop.models import Event
from nexus_shop.selectors import webhooks as selectors
from nexus_shop.services import events
from tests.support import webhook_rows as rows
from tests.support.webhook_rows import settled

pytestmark = pytest.mark.django_db


def test_endpoints_are_listed_oldest_first_in_pages() -> None:
    made = [rows.endpoint(description=f"n{n}") for n in range(3)]
    first = selectors.endpoint_list(page_size=2)
    assert [e.pk for e in first.items] == [made[0].pk, made[1].pk]
    assert (first.count, first.count_exact, first.page) == (3, True, 1)
    assert first.next_cursor is not None
    rest = selectors.endpoint_list(page_size=2, cursor=first.next_cursor)
    assert [e.pk for e in rest.items] == [made[2].pk]
    assert selectors.endpoint_get(endpoint_id=made[1].pk) == made[1]
    with pytest.raises(NotFound, match="No webhook endpoint with id 0"):
        selectors.endpoint_get(endpoint_id=0)


def test_deliveries_newest_first_with_their_attempts_filtered(
    django_assert_num_queries: Any,
) -> None:
    endpoint = rows.endpoint()
    other = rows.endpoint()
    now = timezone.now()
    oldest = rows.delivery(
        endpoint, rows.event("product.updated", 1), status="succeeded", attempts=2,
        created_at=now - timedelta(minutes=3),
    )  # fmt: skip
    middle = rows.delivery(
        endpoint, rows.event("order.paid", 2), status="failed", attempts=1,
        created_at=now - timedelta(minutes=2),
    )  # fmt: skip
    newest = rows.delivery(
        endpoint, rows.event("product.updated", 3), created_at=now - timedelta(minutes=1)
    )
    rows.delivery(other, rows.event("product.updated", 4))

    # The endpoint, the count, the page and the attempts, however many deliveries.
    with django_assert_num_queries(4):
        page = selectors.delivery_list(endpoint_id=endpoint.pk)
        listed = [
            (d.pk, d.event.type, [a.status_code for a in d.attempts.all()]) for d in page.items
        ]
    assert listed == [
        (newest.pk, "product.updated", []),
        (middle.pk, "order.paid", [200]),
        (oldest.pk, "product.updated", [503, 200]),  # attempts oldest first
    ]
    by_status = selectors.delivery_list(endpoint_id=endpoint.pk, status="succeeded")
    assert [d.pk for d in by_status.items] == [oldest.pk]
    by_type = selectors.delivery_list(endpoint_id=endpoint.pk, event_type="product.updated")
    assert [d.pk for d in by_type.items] == [newest.pk, oldest.pk]
    both = selectors.delivery_list(
        endpoint_id=endpoint.pk, event_type="product.updated", status="pending"
    )
    assert [d.pk for d in both.items] == [newest.pk]
    with pytest.raises(NotFound):
        selectors.delivery_list(endpoint_id=0)


def test_event_types_carry_each_payloads_json_schema() -> None:
    listed = selectors.event_type_list()
    assert [t["name"] for t in listed] == list(EVENT_TYPES)
    by_name = {t["name"]: t for t in listed}
    ping = by_name["webhook.ping"]
    assert ping["schema"]["properties"]["endpoint_id"]["type"] == "integer"
    assert "sku" in by_name["product.created"]["schema"]["properties"]
    assert by_name["order.paid"]["description"] == EVENT_TYPES["order.paid"].description


# The events feed: on PostgreSQL a test's own uncommitted transaction would hold the feed
# back (its events are above the snapshot's xmin), so these tests commit for real.

feed = pytest.mark.django_db(transaction=True)


def _emit(type: str = "product.updated", resource_id: int = 1) -> Event:
    with transaction.atomic():
        event = events.emit(type=type, resource_id=resource_id, data={"id": resource_id})
    assert event is not None
    settled(event)
    return event


@feed
def test_the_feed_pages_oldest_first_from_after() -> None:
    made = [_emit(resource_id=n) for n in range(5)]
    first = selectors.event_feed(page_size=2)
    assert [e.pk for e in first.items] == [made[0].pk, made[1].pk]
    assert (first.count, first.page, first.page_size) == (None, None, 2)
    assert first.next_cursor == made[1].public_id
    second = selectors.event_feed(after=first.next_cursor, page_size=2)
    assert [e.pk for e in second.items] == [made[2].pk, made[3].pk]
    last = selectors.event_feed(after=second.next_cursor, page_size=2)
    assert [e.pk for e in last.items] == [made[4].pk]
    assert last.next_cursor is None
    assert selectors.event_feed(after=made[4].public_id).items == []


@feed
def test_the_feed_filters_by_type_and_refuses_an_unknown_one() -> None:
    updated = _emit("product.updated", 1)
    _emit("order.paid", 2)
    other = _emit("product.updated", 3)
    page = selectors.event_feed(event_type="product.updated")
    assert [e.pk for e in page.items] == [updated.pk, other.pk]
    with pytest.raises(ValidationFailed, match=r"Unknown event type 'product\.shipped'"):
        selectors.event_feed(event_type="product.shipped")


@feed
def test_an_after_that_names_no_event_is_refused_and_says_why() -> None:
    kept = [_emit(resource_id=n) for n in range(3)]
    Event.objects.filter(pk=kept[0].pk).delete()  # pruned
    with pytest.raises(
        ValidationFailed, match=f"has been pruned: the feed now starts at {kept[1].public_id}"
    ) as pruned:
        selectors.event_feed(after=kept[0].public_id)
    assert pruned.value.extra == {"field": "after"}
    with pytest.raises(ValidationFailed, match=f"No event evt_{kept[2].pk + 100}"):
        selectors.event_feed(after=f"evt_{kept[2].pk + 100}")
    with pytest.raises(ValidationFailed, match="an event id such as evt_42"):
        selectors.event_feed(after="42")


@pytest.mark.postgres
@feed
def test_an_event_of_a_transaction_still_running_holds_back_later_commits() -> None:
    """The feed's xmin rule: a receiver that walks past a position misses nothing."""
    assert connection.vendor == "postgresql"
    before = _emit("product.updated", 1)
    began, release = threading.Event(), threading.Event()
    slow: dict[str, Any] = {}

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:  # take a transaction id first...
                    cursor.execute("SELECT pg_current_xact_id()")
                began.set()
                assert release.wait(30)
                # ...and write its event later: a higher id, a lower xid.
                slow["event"] = events.emit(type="order.paid", resource_id=2, data={"id": 2})
        except BaseException as error:
            slow["error"] = error
            began.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer, daemon=True)
    thread.start()
    assert began.wait(30)
    with transaction.atomic():  # committed while the slow one still runs
        quick = events.emit(type="product.updated", resource_id=3, data={"id": 3})
    assert quick is not None

    # The quick event is committed, but the slow transaction could still commit an event
    # that sorts before it: the feed stops before both.
    assert [e.pk for e in selectors.event_feed().items] == [before.pk]
    assert selectors.event_feed(after=before.public_id).items == []

    release.set()
    thread.join(30)
    assert "error" not in slow, slow.get("error")
    event = slow["event"]
    settled(quick)
    assert event.pk > quick.pk  # written after the quick one...
    page = selectors.event_feed()
    assert [e.pk for e in page.items] == [before.pk, event.pk, quick.pk]  # ...shown before it
    resumed = selectors.event_feed(after=event.public_id)
    assert [e.pk for e in resumed.items] == [quick.pk]


def test_sqlite_feed_is_in_id_order() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's order is (transaction_id, id): tested above")
    made = [_emit(resource_id=n) for n in (3, 1, 2)]
    assert [e.pk for e in selectors.event_feed().items] == [e.pk for e in made]
    assert all(e.transaction_id is None for e in made)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_feed_seeks_its_index_on_a_hundred_thousand_events() -> None:
    """Every page of the feed is an index range scan of nexus_shop_event_feed_idx (the xmin
    bound is one scalar subquery, so it bounds the scan), never a sequential scan."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO nexus_shop_event
                (type, resource, sequence, transaction_id, data, created_at, fanned_out)
            SELECT (ARRAY['product.updated', 'order.paid'])[1 + i % 2], 'product:' || i, 1,
                   i / 3, '{}', now(), true
            FROM generate_series(1, 100000) AS i
            """
        )
        cursor.execute("ANALYZE nexus_shop_event")
    middle = Event.objects.order_by("id").values_list("id", flat=True)[50_000]
    for after, event_type in (
        (None, None),
        (f"evt_{middle}", None),
        (f"evt_{middle}", "order.paid"),
    ):
        with CaptureQueriesContext(connection) as captured:
            selectors.event_feed(after=after, event_type=event_type)
        (page,) = [q["sql"] for q in captured.captured_queries if "pg_snapshot_xmin" in q["sql"]]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {page}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "nexus_shop_event_feed_idx" in plan, (after, event_type, plan)
        assert "Seq Scan on nexus_shop_event" not in plan, (after, event_type, plan)
