"""What the outbox received during a test: the events written since a mark."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from nexus_shop.models import Event


class Outbox:
    """The events written since it was made, or since they were last read."""

    def __init__(self) -> None:
        self._mark: int = Event.objects.aggregate(top=Max("id"))["top"] or 0

    def new(self) -> list[Event]:
        """The events written since the mark, in id order; the mark moves past them."""
        events = list(Event.objects.filter(pk__gt=self._mark).order_by("pk"))
        if events:
            self._mark = events[-1].pk
        return events

    def kinds(self) -> list[tuple[str, str, int]]:
        """:meth:`new` as ``(type, resource, sequence)``."""
        return [(event.type, event.resource, event.sequence) for event in self.new()]

    def one(self, type: str) -> dict[str, Any]:
        """The ``data`` of the one new event, which must be of ``type``."""
        events = self.new()
        assert [event.type for event in events] == [type], [e.type for e in events]
        data: dict[str, Any] = events[0].data
        return data


def to_milliseconds(order: dict[str, Any]) -> dict[str, Any]:
    """An ``order.*`` payload with its times as the order endpoints write them.

    The payload is ``OrderOut.render`` (what checkout stores for replays), whose times keep
    their microseconds; the endpoints' answers go through ninja's encoder, which cuts them
    to milliseconds and writes UTC as ``Z``.
    """

    def cut(text: str) -> str:
        moment = datetime.fromisoformat(text).isoformat(timespec="milliseconds")
        return moment.replace("+00:00", "Z")

    return {
        **order,
        "created_at": cut(order["created_at"]),
        "events": [{**event, "at": cut(event["at"])} for event in order["events"]],
    }


class _CallerFailed(Exception):
    pass


def in_a_failing_transaction(*calls: Callable[[], object]) -> None:
    """Make ``calls`` inside one ``transaction.atomic`` that then fails, as a caller's
    transaction would after the calls succeeded: everything they wrote rolls back."""
    with contextlib.suppress(_CallerFailed), transaction.atomic():
        for call in calls:
            call()
        raise _CallerFailed
