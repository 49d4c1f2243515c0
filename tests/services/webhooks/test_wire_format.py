"""What a receiver gets: the Standard Webhooks headers and body, verified as a receiver
would verify them, with the ``standardwebhooks`` package."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

import nexus_shop
from nexus_shop.models.events import DeliveryStatus, WebhookAttempt, WebhookDelivery
from nexus_shop.services.webhooks.signing import new_secret
from tests.factories import WebhookEndpointFactory, emit_event
from tests.support.webhook_receiver import Receiver
from tests.support.webhooks import deliver_due

pytestmark = pytest.mark.django_db


def test_a_delivery_verifies_with_standardwebhooks(receiver: Receiver) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/ok?source=shop"))
    event = emit_event("product.updated", resource_id=9, data={"id": 9, "name": "Kettle"})

    [result] = deliver_due()

    [request] = receiver.received()
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == {
        "type": "product.updated",
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"id": 9, "name": "Kettle"},
    }
    assert request.path == "/ok"
    assert request.headers["webhook-id"] == f"evt_{event.pk}"
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    assert " " not in request.headers["webhook-signature"]  # one secret, one signature
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith(f"nexus-shop/{nexus_shop.__version__}")
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert "traceparent" not in request.headers  # tracing is off
    assert result.outcome == "succeeded"


def test_a_wrong_secret_or_a_changed_body_does_not_verify(receiver: Receiver) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/ok"))
    emit_event()
    deliver_due()
    [request] = receiver.received()
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body + b" ", request.headers)


def test_the_success_is_recorded_with_its_attempt(receiver: Receiver) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/ok"))
    emit_event()
    deliver_due()
    row = WebhookDelivery.objects.get(endpoint=endpoint)
    assert row.status == DeliveryStatus.SUCCEEDED
    assert row.attempt_count == 1
    assert row.finished_at is not None
    assert row.lease_until is None
    [attempt] = WebhookAttempt.objects.filter(delivery=row)
    assert attempt.status_code == 200
    assert attempt.response_body == "ok"
    assert attempt.error == ""
    assert attempt.latency_ms >= 0
    assert attempt.at <= row.finished_at


def test_during_a_rotation_both_signatures_are_sent_and_each_verifies(receiver: Receiver) -> None:
    old, new = new_secret(), new_secret()
    WebhookEndpointFactory(
        url=receiver.url("/ok"),
        secret=new,
        previous_secret=old,
        previous_secret_expires_at=timezone.now() + timedelta(hours=23),
    )
    emit_event()
    deliver_due()
    [request] = receiver.received()
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    # A receiver still on the old secret and one already on the new both accept it.
    assert Webhook(old).verify(request.body, request.headers)
    assert Webhook(new).verify(request.body, request.headers)


def test_after_the_overlap_only_the_new_secret_signs(receiver: Receiver) -> None:
    old, new = new_secret(), new_secret()
    WebhookEndpointFactory(
        url=receiver.url("/ok"),
        secret=new,
        previous_secret=old,
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1),
    )
    emit_event()
    deliver_due()
    [request] = receiver.received()
    assert " " not in request.headers["webhook-signature"]
    assert Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


def test_a_retry_sends_the_same_id_and_body_with_a_new_timestamp(receiver: Receiver) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/status/503"))
    emit_event()
    deliver_due()
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    deliver_due()
    first, second = receiver.received()
    assert first.webhook_id == second.webhook_id
    assert first.body == second.body
    for request in (first, second):
        assert Webhook(endpoint.secret).verify(request.body, request.headers)
    assert json.loads(second.body)["type"] == "product.updated"
    assert WebhookDelivery.objects.get().attempt_count == 2
