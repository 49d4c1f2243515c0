"""``manage.py nexus_shop_prune_webhooks``: the delivery log kept for as long as the
retention settings say, then deleted in batches; unfinished work is never touched."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from nexus_shop.models import Event
from nexus_shop.models.events import DeliveryStatus, WebhookAttempt, WebhookDelivery
from tests.factories import WebhookEndpointFactory, emit_event

pytestmark = pytest.mark.django_db


def _delivery(
    status: str, *, finished_days_ago: float | None, event: Event | None = None
) -> WebhookDelivery:
    event = event or emit_event(resource_id=Event.objects.count() + 1)
    Event.objects.filter(pk=event.pk).update(fanned_out=True)
    now = timezone.now()
    finished = None if finished_days_ago is None else now - timedelta(days=finished_days_ago)
    row = WebhookDelivery.objects.create(
        endpoint=WebhookEndpointFactory(),
        event=event,
        resource=event.resource,
        sequence=event.sequence,
        status=status,
        attempt_count=1,
        next_attempt_at=now,
        created_at=finished or now,
        finished_at=finished,
    )
    WebhookAttempt.objects.create(delivery=row, at=finished or now, status_code=200, latency_ms=3)
    return row


def _prune(*args: str) -> str:
    out = StringIO()
    call_command("nexus_shop_prune_webhooks", *args, stdout=out)
    return out.getvalue()


def test_each_status_is_kept_for_its_retention() -> None:
    old_success = _delivery(DeliveryStatus.SUCCEEDED, finished_days_ago=31)
    recent_success = _delivery(DeliveryStatus.SUCCEEDED, finished_days_ago=29)
    old_failure = _delivery(DeliveryStatus.FAILED, finished_days_ago=91)
    old_give_up = _delivery(DeliveryStatus.GIVEN_UP, finished_days_ago=91)
    kept_failure = _delivery(DeliveryStatus.FAILED, finished_days_ago=31)
    pending = _delivery(DeliveryStatus.PENDING, finished_days_ago=None)

    output = _prune()

    left = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert left == {recent_success.pk, kept_failure.pk, pending.pk}
    assert not WebhookAttempt.objects.filter(
        delivery_id__in=[old_success.pk, old_failure.pk, old_give_up.pk]
    ).exists()
    assert "Deleted 1 succeeded webhook deliveries older than 30 days, 2 failed" in output


def test_the_retention_settings_are_read(settings: object) -> None:
    settings.NEXUS_SHOP_WEBHOOK_RETENTION_DAYS = 7  # type: ignore[attr-defined]
    _delivery(DeliveryStatus.SUCCEEDED, finished_days_ago=8)
    assert "Deleted 1 succeeded webhook deliveries older than 7 days" in _prune()
    assert not WebhookDelivery.objects.exists()


def test_events_go_once_old_and_unreferenced() -> None:
    old_free = emit_event(resource_id=1)
    old_referenced = emit_event(resource_id=2)
    old_not_fanned_out = emit_event(resource_id=3)
    recent_free = emit_event(resource_id=4)
    long_ago = timezone.now() - timedelta(days=91)
    Event.objects.filter(pk__in=[old_free.pk, old_referenced.pk, old_not_fanned_out.pk]).update(
        created_at=long_ago
    )
    Event.objects.exclude(pk=old_not_fanned_out.pk).update(fanned_out=True)
    _delivery(DeliveryStatus.FAILED, finished_days_ago=10, event=old_referenced)

    output = _prune()

    left = set(Event.objects.values_list("pk", flat=True))
    assert left == {old_referenced.pk, old_not_fanned_out.pk, recent_free.pk}
    assert output.rstrip().endswith("and 1 events no delivery refers to.")


def test_a_large_prune_goes_in_batches() -> None:
    for _ in range(7):
        _delivery(DeliveryStatus.SUCCEEDED, finished_days_ago=40)
    assert "Deleted 7 succeeded" in _prune("--batch-size", "3")
    assert not WebhookDelivery.objects.exists()
    assert not WebhookAttempt.objects.exists()
