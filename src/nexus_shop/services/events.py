"""Writing the outbox: :func:`emit`, called by every service inside its transaction.

The event row commits or rolls back with the change it describes (see
:mod:`nexus_shop.models.events` for the ordering guarantee). Delivery is the webhook
workers' job (:mod:`nexus_shop.services.webhooks`); nothing here talks to the network.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone

from nexus_shop.events import EVENT_TYPES
from nexus_shop.models.events import Event, EventStream

# Bulk loads (the seed command) may skip events; they say so in their output.
_suppressed: ContextVar[bool] = ContextVar("nexus_shop_events_suppressed", default=False)


@contextmanager
def suppressed() -> Iterator[None]:
    """Emit nothing inside this block (for bulk loads that announce it themselves)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def active() -> bool:
    """Whether :func:`emit` writes anything here (not :func:`suppressed`): callers skip
    building a payload nobody will read."""
    return not _suppressed.get()


@dataclass
class _Held:
    type: str
    resource: str
    resource_id: int
    data: Mapping[str, Any]


_held: ContextVar[list[_Held] | None] = ContextVar("nexus_shop_events_held", default=None)
# A later ``<kind>.updated`` folds into the held event of its resource if that is one of these.
_FOLDS_INTO = ("created", "updated", "restored")


@contextmanager
def coalesced() -> Iterator[None]:
    """An atomic block whose events are written as it ends, one per change of a resource.

    For a caller that makes several service calls as one change (the admin's product page:
    the product, then each of its images). Each call emits as usual, but a
    ``<kind>.updated`` whose resource's last held event is its ``created``, ``updated`` or
    ``restored`` only replaces that event's data: receivers hear of the page once, with
    what commits, never of the half-saved states between the calls. Other events are
    written as emitted, in order. The block is a ``transaction.atomic``, so if it fails,
    its changes and its events go together.
    """
    held: list[_Held] = []
    with transaction.atomic():
        token = _held.set(held)
        try:
            yield
        finally:
            _held.reset(token)
        for event in held:  # into the enclosing coalesced() block, if any
            emit(type=event.type, resource_id=event.resource_id, data=event.data)


def _hold(held: list[_Held], event: _Held) -> None:
    kind, _, action = event.type.partition(".")
    last = next((h for h in reversed(held) if h.resource == event.resource), None)
    if (
        action == "updated"
        and last is not None
        and last.type in {f"{kind}.{folded}" for folded in _FOLDS_INTO}
    ):
        last.data = event.data
        return
    held.append(event)


def _next_sequence(using: str, resource: str) -> int:
    """SQLite: the next sequence number of ``resource``, from the stream's upsert (on
    PostgreSQL, :func:`_insert_numbered` runs the same upsert inside the event's INSERT)."""
    connection = connections[using]
    table = connection.ops.quote_name(EventStream._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (resource, last_sequence) VALUES (%s, 1) "  # noqa: S608  (names from _meta, values bound)
            f"ON CONFLICT (resource) DO UPDATE SET last_sequence = {table}.last_sequence + 1 "
            "RETURNING last_sequence",
            [resource],
        )
        (sequence,) = cursor.fetchone()
    return int(sequence)


def emit(*, type: str, resource_id: int, data: Mapping[str, Any]) -> Event | None:
    """Write one event of ``type`` about the resource ``resource_id`` into the outbox.

    Must run inside the transaction of the change (a service's ``transaction.atomic``):
    outside one, the event would commit on its own. ``data`` is JSON-ready (the API's
    representation, ``Schema.model_dump(mode="json")``). Returns None when events are
    :func:`suppressed`, or held until a :func:`coalesced` block ends.
    """
    event_type = EVENT_TYPES.get(type)
    if event_type is None:
        raise ValueError(f"unknown event type {type!r}")
    if _suppressed.get():
        return None
    using = router.db_for_write(Event)
    if not connections[using].in_atomic_block:
        raise RuntimeError("emit() must run inside the transaction that made the change")
    resource = f"{event_type.resource}:{resource_id}"
    held = _held.get()
    if held is not None:
        _hold(held, _Held(type=type, resource=resource, resource_id=resource_id, data=data))
        return None
    event = Event(type=type, resource=resource, data=dict(data), created_at=timezone.now())
    if connections[using].vendor == "postgresql":
        _insert_numbered(using, event)
        return event
    event.sequence = _next_sequence(using, resource)  # transaction_id stays null
    event.save(using=using, force_insert=True)
    return event


def _insert_numbered(using: str, event: Event) -> None:
    """PostgreSQL: the stream's upsert and the event's ``INSERT`` in one
    statement (a data-modifying ``WITH``), so an event costs the write one round trip. The
    upsert takes the same row lock and gives the same number; the values are prepared by
    the model's fields, as ``save()`` prepares them."""
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = {field.name: field for field in Event._meta.concrete_fields}
    column = {name: quote(field.column) for name, field in fields.items() if field.column}
    given = ["type", "resource", "data", "created_at", "fanned_out"]
    values = [fields[name].get_db_prep_save(getattr(event, name), connection) for name in given]
    stream = quote(EventStream._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH stream AS (INSERT INTO {stream} (resource, last_sequence) VALUES (%s, 1) "  # noqa: S608  (names from _meta, values bound)
            f"ON CONFLICT (resource) DO UPDATE SET last_sequence = {stream}.last_sequence + 1 "
            f"RETURNING last_sequence) "
            f"INSERT INTO {quote(Event._meta.db_table)} "
            f"({', '.join(column[name] for name in given)}, {column['sequence']}, "
            f"{column['transaction_id']}) "
            f"SELECT {', '.join(['%s'] * len(given))}, last_sequence, "
            f"pg_current_xact_id()::text::bigint FROM stream "
            f"RETURNING {column['id']}, {column['sequence']}, {column['transaction_id']}",
            [event.resource, *values],
        )
        event.pk, event.sequence, event.transaction_id = cursor.fetchone()
    event._state.adding = False
    event._state.db = using
