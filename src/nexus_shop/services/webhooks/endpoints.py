"""Webhook endpoints: create, change, delete, rotate a secret, ping, redeliver.

Keyword-only, typed and transactional, like every service; nothing here talks to the
network but the address check (:func:`nexus_shop.services.webhooks.network.check_url`),
which resolves the URL's host *before* the transaction opens, so no lock waits on DNS.
Input is checked before anything is written: a refused URL, an unknown event type or one
endpoint too many stores nothing.

Deliveries are sent by the workers (:mod:`nexus_shop.services.webhooks.delivery`). What
these services do to a delivery is what a worker reads: ``pending`` with
``next_attempt_at`` now is due at once, and its event (hence its ``webhook-id``) is the
one it always had.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nexus_shop.conf import conf
from nexus_shop.events import ALL_EVENTS, EVENT_TYPES
from nexus_shop.exceptions import Conflict, NotFound, ValidationFailed
from nexus_shop.models.events import DeliveryStatus, Event, WebhookDelivery, WebhookEndpoint
from nexus_shop.schemas.webhooks import PingEventData
from nexus_shop.services import events
from nexus_shop.services.locks import advisory_lock
from nexus_shop.services.variants import UNSET
from nexus_shop.services.webhooks import network, signing

PING = "webhook.ping"
# Serialises creations, so that two at once cannot both pass the count of endpoints.
_ENDPOINTS_LOCK = "nexus_shop:webhook-endpoints"
STAFF_DISABLED = "Disabled by staff."
_BATCH = 1000


def subscribable_event_types() -> list[str]:
    """The event types an endpoint may subscribe to: all but ``webhook.ping``."""
    return [name for name in EVENT_TYPES if name != PING]


def clean_events(events_: Sequence[str]) -> list[str]:
    """``events_`` checked (known types, or ``"*"``) and without repeats, in the given order.

    :class:`~nexus_shop.exceptions.ValidationFailed` (field ``events``) for an empty list,
    an unknown type or ``webhook.ping``, which is sent on request only.
    """
    cleaned: list[str] = []
    for name in events_:
        if name == PING:
            raise ValidationFailed(
                f"{PING} is sent on request (POST /webhooks/{{id}}/ping) and cannot be "
                "subscribed to.",
                extra={"field": "events"},
            )
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            raise ValidationFailed(
                f"Unknown event type {name[:64]!r}; GET /webhooks/event-types lists them, "
                'and "*" means all.',
                extra={"field": "events"},
            )
        if name not in cleaned:
            cleaned.append(name)
    if not cleaned:
        raise ValidationFailed(
            'Subscribe to at least one event type (or to all: ["*"]).',
            extra={"field": "events"},
        )
    return cleaned


def _locked(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id}.")
    return endpoint


def _enabled(endpoint: WebhookEndpoint, *, action: str) -> None:
    if not endpoint.is_enabled:
        reason = endpoint.disabled_reason
        why = f" Why it was disabled: {reason}" if reason else ""
        raise Conflict(
            f"Webhook endpoint {endpoint.pk} is disabled; enable it (PATCH is_enabled=true) "
            f"before you {action}.{why}"
        )


def endpoint_create(*, url: str, events: Sequence[str], description: str = "") -> WebhookEndpoint:
    """A new, enabled endpoint with a fresh secret (``endpoint.secret``: show it once).

    At most ``NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS`` may exist; past it, a
    :class:`~nexus_shop.exceptions.ValidationFailed`.
    """
    subscriptions = clean_events(events)
    network.check_url(url)
    with transaction.atomic():
        advisory_lock(_ENDPOINTS_LOCK)
        limit = conf.WEBHOOK_MAX_ENDPOINTS
        if WebhookEndpoint.objects.count() >= limit:
            raise ValidationFailed(
                f"At most {limit} webhook endpoints may exist "
                "(NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS); delete one first.",
            )
        return WebhookEndpoint.objects.create(
            url=url,
            events=subscriptions,
            description=description,
            secret=signing.new_secret(),
        )


def endpoint_update(
    *,
    endpoint_id: int,
    url: str = UNSET,
    events: Sequence[str] = UNSET,
    description: str = UNSET,
    is_enabled: bool = UNSET,
) -> WebhookEndpoint:
    """Change the given fields. A new URL is checked as at creation.

    Disabling records ``"Disabled by staff."`` as the reason; enabling clears the reason
    and the run of failures (``failing_since``), so the endpoint starts afresh.
    """
    subscriptions = clean_events(events) if events is not UNSET else None
    if url is not UNSET:
        network.check_url(url)
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        if url is not UNSET:
            endpoint.url = url
        if subscriptions is not None:
            endpoint.events = subscriptions
        if description is not UNSET:
            endpoint.description = description
        if is_enabled is not UNSET and is_enabled != endpoint.is_enabled:
            endpoint.is_enabled = is_enabled
            if is_enabled:
                endpoint.disabled_reason = ""
                endpoint.failing_since = None
            else:
                endpoint.disabled_reason = STAFF_DISABLED
        endpoint.save()
        return endpoint


def endpoint_delete(*, endpoint_id: int) -> None:
    """Delete the endpoint with its deliveries and their attempts (the events stay)."""
    with transaction.atomic():
        _locked(endpoint_id).delete()


def rotate_secret(*, endpoint_id: int) -> WebhookEndpoint:
    """A new secret (``endpoint.secret``: show it once); the old one keeps signing too
    until ``previous_secret_expires_at`` (now + ``NEXUS_SHOP_WEBHOOK_SECRET_OVERLAP``).

    Only one previous secret is kept: rotating again within the overlap drops the oldest.
    """
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + conf.WEBHOOK_SECRET_OVERLAP
        endpoint.secret = signing.new_secret()
        endpoint.save()
        return endpoint


def ping(*, endpoint_id: int) -> WebhookDelivery:
    """Queue a ``webhook.ping`` to this endpoint (and to no other): its event and delivery.

    The event is marked fanned out at once, since its one delivery is created here.
    """
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        _enabled(endpoint, action="ping it")
        event = events.emit(
            type=PING,
            resource_id=endpoint.pk,
            data=PingEventData(endpoint_id=endpoint.pk).model_dump(mode="json"),
        )
        if event is None:
            raise Conflict("Events are suppressed here (a bulk load); nothing was queued.")
        event.fanned_out = True
        event.save(update_fields=["fanned_out"])
        delivery = WebhookDelivery.due_now(
            endpoint_id=endpoint.pk,
            event_id=event.pk,
            resource=event.resource,
            sequence=event.sequence,
            now=timezone.now(),
        )
        delivery.event = event  # the answer shows its type and id: no read back
        delivery.save(force_insert=True)
        return delivery


def _requeue(delivery: WebhookDelivery, now: datetime) -> None:
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.lease_until = None
    delivery.finished_at = None
    delivery.save(update_fields=["status", "next_attempt_at", "lease_until", "finished_at"])


def redeliver(*, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send one delivery again: back to ``pending``, due now, the same event (so the same
    ``webhook-id``). Its attempts so far are kept; the next one is added to them.

    A delivery being sent right now (``delivering``) is a
    :class:`~nexus_shop.exceptions.Conflict`: wait for its attempt to end.
    """
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery_id, endpoint=endpoint)
            .first()
        )
        if delivery is None:
            raise NotFound(f"No delivery {delivery_id} for webhook endpoint {endpoint_id}.")
        _enabled(endpoint, action="redeliver to it")
        if delivery.status == DeliveryStatus.DELIVERING:
            raise Conflict(
                f"Delivery {delivery_id} is being sent right now; redeliver it once its "
                "attempt has ended."
            )
        _requeue(delivery, timezone.now())
        return delivery


def _subscribed_events(endpoint: WebhookEndpoint) -> Q:
    """The events ``endpoint`` receives: its subscriptions, and its own pings."""
    own_pings = Q(type=PING, resource=f"{EVENT_TYPES[PING].resource}:{endpoint.pk}")
    if ALL_EVENTS in endpoint.events:
        return ~Q(type=PING) | own_pings
    return Q(type__in=[name for name in endpoint.events if name != PING]) | own_pings


def redeliver_since(*, endpoint_id: int, since: datetime) -> int:
    """Queue again every event this endpoint receives that was written at or after ``since``.

    Its existing deliveries go back to ``pending``, due now (those being sent right now are
    left to finish); the events it has none for (written before it subscribed) get one.
    The workers then send each resource's events in their order, as always. Only events
    the workers have fanned out are taken: the others are on their way anyway. Returns how
    many deliveries were queued.
    """
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        _enabled(endpoint, action="redeliver to it")
        now = timezone.now()
        wanted = Event.objects.filter(
            _subscribed_events(endpoint), created_at__gte=since, fanned_out=True
        )
        existing = WebhookDelivery.objects.filter(endpoint=endpoint, event__in=wanted)
        requeued = existing.exclude(status=DeliveryStatus.DELIVERING).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            lease_until=None,
            finished_at=None,
        )
        missing = wanted.exclude(deliveries__endpoint=endpoint).order_by("id")
        created = 0
        batch: list[WebhookDelivery] = []
        rows = missing.values_list("id", "resource", "sequence").iterator(chunk_size=_BATCH)
        for event_id, resource, sequence in rows:
            batch.append(
                WebhookDelivery.due_now(
                    endpoint_id=endpoint.pk,
                    event_id=event_id,
                    resource=resource,
                    sequence=sequence,
                    now=now,
                )
            )
            if len(batch) == _BATCH:
                created += len(WebhookDelivery.objects.bulk_create(batch))
                batch = []
        created += len(WebhookDelivery.objects.bulk_create(batch))
        return requeued + created
