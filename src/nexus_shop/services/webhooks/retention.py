"""How long the delivery log is kept: :func:`webhooks_prune`, run by
``manage.py nexus_shop_prune_webhooks``.

- Succeeded deliveries (and their attempts) go ``NEXUS_SHOP_WEBHOOK_RETENTION_DAYS`` after
  they finished; failed and given-up ones ``NEXUS_SHOP_WEBHOOK_FAILED_RETENTION_DAYS`` after.
  Pending and delivering ones are never pruned.
- Events go once they are older than the longer of the two and no delivery refers to them
  any more; an event not yet fanned out is kept whatever its age.

Deletes run in batches of ``batch_size`` rows, each its own transaction, so a large prune
never holds long locks or one huge transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from nexus_shop.conf import conf
from nexus_shop.models.events import DeliveryStatus, Event, WebhookDelivery


@dataclass(frozen=True)
class Pruned:
    succeeded: int
    failed: int
    events: int


def _delete_in_batches(queryset: QuerySet[WebhookDelivery] | QuerySet[Event], size: int) -> int:
    deleted = 0
    model = queryset.model
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by().values_list("pk", flat=True)[:size])
            if not ids:
                return deleted
            # Cascades to the deliveries' attempts in the same statement batch.
            model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


def webhooks_prune(*, batch_size: int = 1000) -> Pruned:
    """Delete what the retention settings no longer keep; returns what went."""
    now = timezone.now()
    succeeded_before = now - timedelta(days=conf.WEBHOOK_RETENTION_DAYS)
    failed_before = now - timedelta(days=conf.WEBHOOK_FAILED_RETENTION_DAYS)
    succeeded = _delete_in_batches(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.SUCCEEDED, finished_at__lt=succeeded_before
        ),
        batch_size,
    )
    failed = _delete_in_batches(
        WebhookDelivery.objects.filter(
            status__in=(DeliveryStatus.FAILED, DeliveryStatus.GIVEN_UP),
            finished_at__lt=failed_before,
        ),
        batch_size,
    )
    events_before = min(succeeded_before, failed_before)
    events = _delete_in_batches(
        Event.objects.filter(created_at__lt=events_before, fanned_out=True).filter(
            ~Exists(WebhookDelivery.objects.filter(event_id=OuterRef("pk")))
        ),
        batch_size,
    )
    return Pruned(succeeded=succeeded, failed=failed, events=events)
