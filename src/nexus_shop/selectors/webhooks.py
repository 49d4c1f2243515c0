"""Reads of webhooks: endpoints, their deliveries with the attempts, the event types, and
the events feed a receiver resyncs from.

The feed's order and visibility rule are the outbox's (see :mod:`nexus_shop.models.events`):
on PostgreSQL it is ordered by ``(transaction_id, id)`` and shows only the events whose
transaction is older than every transaction still running
(``pg_snapshot_xmin(pg_current_snapshot())``). Such an event is committed and visible, and
any event that commits later has a transaction id at least that high, so it sorts after
every event a page has shown: a receiver that walks the feed with ``after`` misses nothing.
An event of a transaction still running, or of a later one that committed before it, waits
until that transaction ends. On SQLite, whose writers are serialised, ``id`` is commit order.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import F, Min, QuerySet, Value
from django.db.models.expressions import RawSQL

from nexus_shop.events import EVENT_TYPES
from nexus_shop.exceptions import NotFound, ValidationFailed
from nexus_shop.models.events import Event, WebhookDelivery, WebhookEndpoint
from nexus_shop.schemas.params import default_of
from nexus_shop.selectors.pagination import Page, PageRequest, RowCompare, SortKey, paginate

BY_ID = SortKey("id", "id", descending=False, kind="int")
NEWEST_FIRST = SortKey("-created_at", "created_at", descending=True, kind="datetime")
EVENT_ID_PREFIX = "evt_"
# One scalar subquery, evaluated once per statement (an InitPlan), so the condition can bound
# an index scan of nexus_shop_event_feed_idx. In READ COMMITTED the current snapshot is the
# statement's own: every event below its xmin is committed and visible to that statement.
_XMIN = "(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"


def _page_request(*, page: int, page_size: int | None, cursor: str | None) -> PageRequest:
    return PageRequest(page=page, page_size=page_size or default_of("page_size"), cursor=cursor)


def endpoint_list(
    *, page: int = 1, page_size: int | None = None, cursor: str | None = None
) -> Page[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return paginate(
        WebhookEndpoint.objects.all(),
        sort=BY_ID,
        request=_page_request(page=page, page_size=page_size, cursor=cursor),
        scope="webhook-endpoints",
    )


def endpoint_get(*, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id}.")
    return endpoint


def _deliveries() -> QuerySet[WebhookDelivery]:
    # The event's type, not its payload (a product's whole detail).
    return (
        WebhookDelivery.objects.select_related("event")
        .defer("event__data")
        .prefetch_related("attempts")
    )


def delivery_list(
    *,
    endpoint_id: int,
    status: str | None = None,
    event_type: str | None = None,
    page: int = 1,
    page_size: int | None = None,
    cursor: str | None = None,
) -> Page[WebhookDelivery]:
    """An endpoint's deliveries, newest first, each with its attempts; filters combine."""
    endpoint = endpoint_get(endpoint_id=endpoint_id)
    queryset = _deliveries().filter(endpoint=endpoint)
    if status is not None:
        queryset = queryset.filter(status=status)
    if event_type is not None:
        queryset = queryset.filter(event__type=event_type)
    return paginate(
        queryset,
        sort=NEWEST_FIRST,
        request=_page_request(page=page, page_size=page_size, cursor=cursor),
        scope=f"webhook-deliveries-{endpoint.pk}",
    )


def delivery_get(*, delivery_id: int) -> WebhookDelivery:
    delivery = _deliveries().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}.")
    return delivery


def event_type_list() -> list[dict[str, Any]]:
    """Every event type: its name, what it means, and the JSON Schema of its ``data``."""
    return [
        {"name": name, "description": kind.description, "schema": kind.json_schema()}
        for name, kind in EVENT_TYPES.items()
    ]


def _anchor(after: str) -> tuple[int, int | None]:
    """The feed position (``id``, ``transaction_id``) of event ``after`` (``evt_<n>``)."""
    number = after.removeprefix(EVENT_ID_PREFIX)
    if not after.startswith(EVENT_ID_PREFIX) or not number.isdigit():
        raise ValidationFailed(
            f"after must be an event id such as evt_42, not {after[:40]!r}.",
            extra={"field": "after"},
        )
    event_id = int(number)
    found = Event.objects.filter(pk=event_id).values_list("transaction_id", flat=True)[:1]
    for transaction_id in found:
        return event_id, transaction_id
    oldest = Event.objects.aggregate(oldest=Min("id"))["oldest"]
    if oldest is not None and event_id < oldest:
        raise ValidationFailed(
            f"Event {after} has been pruned: the feed now starts at evt_{oldest}. Resync "
            "from there (leave out after), then resume.",
            extra={"field": "after"},
        )
    raise ValidationFailed(f"No event {after}.", extra={"field": "after"})


def event_feed(
    *, after: str | None = None, event_type: str | None = None, page_size: int | None = None
) -> Page[Event]:
    """The events in feed order (the module docstring), from just after ``after``.

    ``next_cursor`` is the last event's id when more may follow: the next request's
    ``after``. A page may end early while an older transaction is still running; ask again.
    """
    size = page_size or default_of("page_size")
    if event_type is not None and event_type not in EVENT_TYPES:
        raise ValidationFailed(
            f"Unknown event type {event_type[:64]!r}; GET /webhooks/event-types lists them.",
            extra={"field": "type"},
        )
    postgres = connections[Event.objects.db].vendor == "postgresql"
    queryset = Event.objects.all()
    if postgres:
        queryset = queryset.filter(transaction_id__lt=RawSQL(_XMIN, ()))  # noqa: S611  (a constant)
    if event_type is not None:
        queryset = queryset.filter(type=event_type)
    if after is not None:
        event_id, transaction_id = _anchor(after)
        if postgres and transaction_id is not None:
            queryset = queryset.filter(
                RowCompare(
                    [F("transaction_id"), F("id")],
                    [Value(transaction_id), Value(event_id)],
                    descending=False,
                )
            )
        else:
            queryset = queryset.filter(id__gt=event_id)
    order = ("transaction_id", "id") if postgres else ("id",)
    rows = list(queryset.order_by(*order)[: size + 1])
    items = rows[:size]
    return Page(
        items=items,
        count=None,
        count_exact=None,
        page=None,
        page_size=size,
        next_cursor=items[-1].public_id if len(rows) > size else None,
    )
