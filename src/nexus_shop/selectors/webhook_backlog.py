"""How far the webhook workers are behind: the ages behind the backlog gauge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min
from django.utils import timezone

from nexus_shop.models.events import DeliveryStatus, Event, WebhookDelivery


@dataclass(frozen=True)
class BacklogAges:
    """Seconds since the oldest waiting event was committed; 0 when nothing waits."""

    event: float  # the oldest committed event not yet fanned out
    delivery: float  # the oldest event still to reach an enabled endpoint (unfinished)


def _age(oldest: datetime | None, now: datetime) -> float:
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


def webhook_backlog_ages() -> BacklogAges:
    """Two aggregates over the partial indexes the workers use (only unfinished rows)."""
    now = timezone.now()
    event = Event.objects.filter(fanned_out=False).aggregate(oldest=Min("created_at"))
    delivery = WebhookDelivery.objects.filter(
        status__in=(DeliveryStatus.PENDING, DeliveryStatus.DELIVERING),
        endpoint__is_enabled=True,
    ).aggregate(oldest=Min("event__created_at"))
    return BacklogAges(event=_age(event["oldest"], now), delivery=_age(delivery["oldest"], now))
