"""Rows of the webhook tables for tests: endpoints, events and deliveries, made directly.

Endpoints made here skip the address check (``services.webhooks.endpoints.endpoint_create``
runs it; its own tests call it). Events go through :func:`nexus_shop.services.events.emit`,
as the services write them.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from nexus_shop.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from nexus_shop.services import events
from nexus_shop.services.webhooks import signing

RECEIVER = "https://127.0.0.1:8443/hooks"  # 127.0.0.1/32 is allowed by tests/settings.py


def endpoint(**fields: Any) -> WebhookEndpoint:
    values: dict[str, Any] = {"url": RECEIVER, "events": ["*"], "secret": signing.new_secret()}
    values.update(fields)
    return WebhookEndpoint.objects.create(**values)


def event(type: str = "product.updated", resource_id: int = 1, **fields: Any) -> Event:
    """One committed-looking event (in the caller's transaction), fanned out by default."""
    with transaction.atomic():
        made = events.emit(type=type, resource_id=resource_id, data={"id": resource_id})
    assert made is not None
    changes = {"fanned_out": True, **fields}
    Event.objects.filter(pk=made.pk).update(**changes)
    made.refresh_from_db()
    return made


def settled(event: Event, *, timeout: float = 60.0) -> None:
    """Wait until ``event`` is in the events feed (PostgreSQL; at once elsewhere).

    The feed shows an event once every transaction older than its own has ended, on the
    whole server: another database's open transaction (a parallel test run) holds it back
    for a moment. Tests that assert on the feed wait for their events to settle first.
    """
    if connection.vendor != "postgresql":
        return
    xmin = RawSQL("(SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)", ())
    deadline = time.monotonic() + timeout
    while not Event.objects.filter(pk=event.pk, transaction_id__lt=xmin).exists():
        assert time.monotonic() < deadline, f"{event} never reached the feed"
        time.sleep(0.05)


def delivery(
    to: WebhookEndpoint,
    of: Event,
    *,
    status: str = "pending",
    created_at: datetime | None = None,
    attempts: int = 0,
) -> WebhookDelivery:
    now = timezone.now()
    made = WebhookDelivery.objects.create(
        endpoint=to,
        event=of,
        resource=of.resource,
        sequence=of.sequence,
        status=status,
        attempt_count=attempts,
        next_attempt_at=now,
        created_at=created_at or now,
        finished_at=now if status in ("succeeded", "failed", "given_up") else None,
    )
    for n in range(attempts):
        WebhookAttempt.objects.create(
            delivery=made,
            at=now,
            status_code=503 if n < attempts - 1 else 200,
            latency_ms=10 + n,
            response_body="busy" if n < attempts - 1 else "ok",
        )
    return made
