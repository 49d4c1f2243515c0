"""``manage.py nexus_shop_deliver_webhooks``: a drain with ``--once``, and a clean stop."""

from __future__ import annotations

import os
import sys
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from nexus_shop.models import Event
from nexus_shop.models.events import DeliveryStatus, WebhookDelivery
from tests.factories import WebhookEndpointFactory, emit_event
from tests.heavy.example_server import database_url
from tests.support import wait_until
from tests.support.processes import ROOT, background
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


def _deliver(*args: str) -> str:
    out = StringIO()
    call_command("nexus_shop_deliver_webhooks", *args, stdout=out)
    return out.getvalue()


def test_once_drains_everything_due_each_resource_in_order(receiver: Receiver) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/ok"))
    expected = {r: [emit_event(resource_id=r).pk for _ in range(3)] for r in (1, 2, 3)}

    output = _deliver("--once", "--batch", "2", "--concurrency", "2")

    assert output.strip() == "Webhook deliveries: 9 succeeded."
    assert (
        WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.SUCCEEDED).count()
        == 9
    )
    order: dict[str, list[int]] = {}
    for request in receiver.received():
        event = Event.objects.get(pk=int(request.webhook_id.removeprefix("evt_")))
        order.setdefault(event.resource, []).append(event.pk)
    assert order == {f"product:{r}": ids for r, ids in expected.items()}


def test_once_leaves_retries_for_later(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/status/503"))
    emit_event()
    assert _deliver("--once").strip() == "Webhook deliveries: 1 retrying."
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING


def test_once_with_nothing_to_do() -> None:
    assert _deliver("--once").strip() == "Webhook deliveries: none."


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_request_in_flight_records_it_and_exits(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/slow/1500"))
    emit_event()
    env: dict[str, Any] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.webhook_settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": "",
    }
    command = [sys.executable, "-m", "django", "nexus_shop_deliver_webhooks", "--idle-sleep", "0.1"]
    with background(command, env=env) as worker:
        wait_until(lambda: receiver.answering == 1 or not worker.alive(), "a request in flight")
        assert worker.alive(), worker.output()
        assert worker.terminate() == 0, worker.output()
        assert "Webhook deliveries: 1 succeeded." in worker.output()
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED
