"""Ordering per resource, claims and leases.

Event n + 1 of a resource goes to an endpoint only once event n has finished there
(succeeded, failed or given up); other resources, and other endpoints, are not held back.
A claim is a lease: once it lapses another worker takes the delivery, and the first
worker's late result is dropped.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from nexus_shop.models import Event
from nexus_shop.models.events import DeliveryStatus, WebhookAttempt, WebhookDelivery
from nexus_shop.services.webhooks import delivery
from nexus_shop.services.webhooks.worker import Worker
from tests.factories import WebhookEndpointFactory, emit_event
from tests.support.race import race_n
from tests.support.webhook_receiver import Receiver
from tests.support.webhooks import deliver_due

pytestmark = pytest.mark.django_db

LEASE = timedelta(minutes=1)


def _claimed_events() -> list[int]:
    return sorted(item.event_id for item in delivery.claim(batch_size=100, lease=LEASE))


def test_a_resource_s_next_event_waits_for_the_previous_one(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/ok"))
    first, second, third = (emit_event(resource_id=42) for _ in range(3))
    other = emit_event(resource_id=43)
    delivery.fan_out()

    # Only the head of each resource is eligible.
    assert _claimed_events() == sorted([first.pk, other.pk])
    assert _claimed_events() == []  # both heads are being delivered
    WebhookDelivery.objects.filter(event__in=[first, other]).update(status=DeliveryStatus.SUCCEEDED)
    assert _claimed_events() == [second.pk]
    WebhookDelivery.objects.filter(event=second).update(status=DeliveryStatus.SUCCEEDED)
    assert _claimed_events() == [third.pk]


def test_the_receiver_sees_each_resource_in_order(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/ok"))
    expected = {r: [emit_event(resource_id=r).pk for _ in range(4)] for r in (1, 2, 3)}
    while deliver_due():
        pass
    seen: dict[str, list[int]] = {}
    for request in receiver.received():
        event = Event.objects.get(pk=int(request.webhook_id.removeprefix("evt_")))
        seen.setdefault(event.resource, []).append(event.pk)
    assert seen == {f"product:{r}": ids for r, ids in expected.items()}


def test_a_retrying_event_holds_back_its_resource_only(receiver: Receiver) -> None:
    failing = WebhookEndpointFactory(url=receiver.url("/status/503"))
    first = emit_event(resource_id=1)
    second = emit_event(resource_id=1)
    other = emit_event(resource_id=2)
    deliver_due()  # first and other: both 503, both pending until their retry
    WebhookDelivery.objects.filter(event=other).update(status=DeliveryStatus.SUCCEEDED)
    # The second event's delivery is due (created now) but its predecessor is unfinished.
    waiting = WebhookDelivery.objects.get(endpoint=failing, event=second)
    assert waiting.next_attempt_at <= timezone.now()
    assert _claimed_events() == []
    # Given up: the next one goes.
    WebhookDelivery.objects.filter(event=first).update(status=DeliveryStatus.GIVEN_UP)
    assert _claimed_events() == [second.pk]


def test_a_failed_event_lets_the_next_one_go(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/status/400"))
    emit_event(resource_id=1)
    second = emit_event(resource_id=1)
    deliver_due()
    assert _claimed_events() == [second.pk]


def test_one_endpoint_s_backlog_does_not_hold_back_another(receiver: Receiver) -> None:
    slow = WebhookEndpointFactory(url=receiver.url("/status/503"))
    fast = WebhookEndpointFactory(url=receiver.url("/ok"))
    emit_event(resource_id=1)
    emit_event(resource_id=1)
    deliver_due()
    deliver_due()
    statuses = list(WebhookDelivery.objects.values_list("endpoint_id", "status"))
    assert sorted(statuses) == sorted(
        [(fast.pk, DeliveryStatus.SUCCEEDED)] * 2 + [(slow.pk, DeliveryStatus.PENDING)] * 2
    )


def test_an_event_not_yet_fanned_out_holds_back_the_later_ones() -> None:
    endpoint = WebhookEndpointFactory()
    first = emit_event(resource_id=5)
    second = emit_event(resource_id=5)
    # As if another worker had fanned out the second event but not yet the first.
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=second,
        resource=second.resource,
        sequence=second.sequence,
        next_attempt_at=timezone.now(),
        created_at=timezone.now(),
    )
    Event.objects.filter(pk=second.pk).update(fanned_out=True)
    assert _claimed_events() == []
    delivery.fan_out()
    assert _claimed_events() == [first.pk]


def test_a_claim_is_a_lease_that_hides_the_delivery_until_it_lapses() -> None:
    WebhookEndpointFactory()
    event = emit_event()
    delivery.fan_out()
    [claimed] = delivery.claim(batch_size=10, lease=LEASE)
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.DELIVERING
    assert row.lease_until == claimed.lease_until == row.next_attempt_at
    assert delivery.claim(batch_size=10, lease=LEASE) == []
    # The worker died: once the lease lapses, another worker takes the delivery.
    WebhookDelivery.objects.update(lease_until=timezone.now(), next_attempt_at=timezone.now())
    [again] = delivery.claim(batch_size=10, lease=LEASE)
    assert (again.delivery_id, again.webhook_id) == (claimed.delivery_id, f"evt_{event.pk}")
    assert again.body == claimed.body


def test_a_result_after_the_lease_was_taken_over_is_dropped(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/ok"))
    emit_event()
    delivery.fan_out()
    [stale] = delivery.claim(batch_size=10, lease=LEASE)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # the lease lapsed
    [fresh] = delivery.claim(batch_size=10, lease=LEASE)

    late = delivery.record([delivery.send(stale)])
    assert late == {"lease_lost": 1}
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERING
    assert not WebhookAttempt.objects.exists()

    assert delivery.record([delivery.send(fresh)])["succeeded"] == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED
    assert WebhookAttempt.objects.count() == 1
    assert len({request.webhook_id for request in receiver.received()}) == 1


def test_the_lease_covers_a_batch_sent_at_worst() -> None:
    # 100 deliveries 20 at a time: 5 rounds of at most the timeout each, plus one.
    assert delivery.lease_for(batch_size=100, concurrency=20) == timedelta(seconds=2.0 * 6 + 5)


def test_a_stopping_worker_releases_what_it_did_not_send(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/ok"))
    for n in range(3):
        emit_event(resource_id=n)
    with Worker(batch_size=10, concurrency=2) as worker:
        worker.stop.set()
        done = worker.run_once()
    assert done.outcomes == {"released": 3}
    assert receiver.received() == []
    rows = WebhookDelivery.objects.all()
    assert {(row.status, row.lease_until) for row in rows} == {(DeliveryStatus.PENDING, None)}
    assert all(row.next_attempt_at <= timezone.now() for row in rows)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_once_never_take_the_same_delivery() -> None:
    WebhookEndpointFactory()
    WebhookEndpointFactory()
    for n in range(40):
        emit_event(resource_id=n)
    delivery.fan_out(batch_size=1000)

    def claim_all(_: int) -> list[int]:
        taken: list[int] = []
        while batch := delivery.claim(batch_size=3, lease=LEASE):
            taken += [item.delivery_id for item in batch]
        return taken

    claims = race_n(4, claim_all)
    assert all(isinstance(taken, list) for taken in claims), claims
    every = [delivery_id for taken in claims for delivery_id in taken]
    assert len(every) == len(set(every)) == 80
