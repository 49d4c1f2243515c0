"""The Django Tasks entry point, run by the immediate backend (``django.tasks`` on Django 6,
the ``django-tasks`` package on 5.2)."""

from __future__ import annotations

import pytest

from nexus_shop.models.events import DeliveryStatus, WebhookDelivery
from nexus_shop.tasks import deliver_webhooks
from tests.factories import WebhookEndpointFactory, emit_event
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


def test_the_task_delivers_one_pass(receiver: Receiver) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/ok"))
    first = emit_event(resource_id=1)
    emit_event(resource_id=1)  # waits for the first: the next pass sends it
    emit_event(resource_id=2)

    result = deliver_webhooks.enqueue()

    assert type(deliver_webhooks.get_backend()).__name__ == "ImmediateBackend"
    assert result.status == "SUCCESSFUL", result.errors
    assert result.return_value == {
        "fanned_out": 3,
        "claimed": 2,
        "outcomes": {"succeeded": 2},
    }
    assert len(receiver.received()) == 2
    assert WebhookDelivery.objects.get(endpoint=endpoint, event=first).status == (
        DeliveryStatus.SUCCEEDED
    )

    again = deliver_webhooks.enqueue(batch_size=10, concurrency=2)
    assert again.return_value == {"fanned_out": 0, "claimed": 1, "outcomes": {"succeeded": 1}}
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
