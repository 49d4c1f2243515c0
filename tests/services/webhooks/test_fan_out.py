"""Fan-out: each committed event becomes one delivery per enabled, subscribed endpoint."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nexus_shop.models import Event
from nexus_shop.models.events import DeliveryStatus, WebhookDelivery
from nexus_shop.services.webhooks import delivery
from tests.factories import WebhookEndpointFactory, emit_event
from tests.support.race import race_n

pytestmark = pytest.mark.django_db


def test_each_event_goes_to_every_subscribed_enabled_endpoint() -> None:
    everything = WebhookEndpointFactory(events=["*"])
    orders = WebhookEndpointFactory(events=["order.created", "order.paid"])
    disabled = WebhookEndpointFactory(events=["*"], is_enabled=False)
    product = emit_event("product.updated", resource_id=7)
    order = emit_event("order.paid", resource_id=3)

    assert delivery.fan_out() == 2

    pairs = set(WebhookDelivery.objects.values_list("endpoint_id", "event_id"))
    assert pairs == {(everything.pk, product.pk), (everything.pk, order.pk), (orders.pk, order.pk)}
    assert not WebhookDelivery.objects.filter(endpoint=disabled).exists()
    assert set(Event.objects.values_list("fanned_out", flat=True)) == {True}


def test_a_delivery_copies_the_event_resource_and_sequence_and_is_due_now() -> None:
    endpoint = WebhookEndpointFactory()
    emit_event(resource_id=42)
    second = emit_event(resource_id=42)
    before = timezone.now()

    delivery.fan_out()

    row = WebhookDelivery.objects.get(endpoint=endpoint, event=second)
    assert (row.resource, row.sequence) == ("product:42", 2)
    assert row.status == DeliveryStatus.PENDING
    assert row.attempt_count == 0
    assert before <= row.next_attempt_at <= timezone.now()
    assert row.lease_until is None


def test_fanning_out_twice_changes_nothing() -> None:
    WebhookEndpointFactory()
    emit_event()
    assert delivery.fan_out() == 1
    assert delivery.fan_out() == 0
    assert WebhookDelivery.objects.count() == 1


def test_a_ping_is_never_fanned_out_by_subscription() -> None:
    WebhookEndpointFactory(events=["*"])
    emit_event("webhook.ping", resource_id=1, data={"endpoint_id": 1})
    assert delivery.fan_out() == 1
    assert not WebhookDelivery.objects.exists()
    assert Event.objects.get().fanned_out


def test_with_no_endpoint_events_are_marked_and_nothing_is_created() -> None:
    emit_event()
    assert delivery.fan_out() == 1
    assert Event.objects.get().fanned_out
    assert not WebhookDelivery.objects.exists()


def test_a_batch_takes_at_most_its_size() -> None:
    WebhookEndpointFactory()
    for n in range(5):
        emit_event(resource_id=n)
    assert delivery.fan_out(batch_size=2) == 2
    assert Event.objects.filter(fanned_out=False).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_fanning_out_at_once_share_the_events_without_doubles() -> None:
    endpoint = WebhookEndpointFactory()
    events = [emit_event(resource_id=n % 7) for n in range(60)]

    handled = race_n(4, lambda _: sum(iter(lambda: delivery.fan_out(batch_size=5), 0)))

    assert all(isinstance(count, int) for count in handled), handled
    assert sum(handled) == len(events)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == len(events)
