"""docs/webhooks.md: its receiver verifies what the shop signs, its resync loop walks the
events feed, and its tables say what the code does."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from nexus_shop.conf import DEFAULTS
from nexus_shop.events import EVENT_TYPES
from nexus_shop.services import events
from nexus_shop.services.webhooks import signing
from tests.conftest import bearer
from tests.docs.test_snippets import load
from tests.factories import ProductFactory, StaffFactory
from tests.support.webhook_receiver import running_receiver
from tests.support.webhook_rows import settled

PAGE = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
ORDER = {"number": "100042", "total": "19.00", "currency": "USD", "status": "paid"}


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Any:
    """docs/src/webhooks_receiver.py, with a fresh secret and nothing processed yet."""
    module: ModuleType = load("webhooks_receiver")
    monkeypatch.setattr(module, "WEBHOOK_SECRET", signing.new_secret())
    monkeypatch.setattr(module, "PROCESSED", set())
    return module


def _processed(receiver: Any) -> set[str]:
    processed: set[str] = receiver.PROCESSED
    return processed


def _delivery(
    *secrets: str,
    event_id: str = "evt_412",
    type: str = "order.paid",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Any:
    """A request as the shop sends one: the body, and its Standard Webhooks headers."""
    at = at or timezone.now()
    body = json.dumps({"type": type, "timestamp": at.isoformat(), "data": data or ORDER}).encode()
    signature = signing.signature(secrets_=secrets, event_id=event_id, timestamp=at, body=body)
    return RequestFactory().post(
        "/hooks/nexus",
        body,
        content_type="application/json",
        headers={
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        },
    )


def test_a_signed_delivery_is_handled_once(
    receiver: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    response = receiver.nexus_shop_webhook(_delivery(receiver.WEBHOOK_SECRET))
    assert response.status_code == 204
    assert capsys.readouterr().out == "order 100042 is paid: 19.00 USD\n"
    again = receiver.nexus_shop_webhook(_delivery(receiver.WEBHOOK_SECRET))  # a retry
    assert again.status_code == 204
    assert capsys.readouterr().out == ""
    assert _processed(receiver) == {"evt_412"}


def test_forged_and_stale_deliveries_are_refused(
    receiver: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = _delivery(signing.new_secret())
    stale = _delivery(receiver.WEBHOOK_SECRET, at=timezone.now() - timedelta(minutes=10))
    unsigned = RequestFactory().post("/hooks/nexus", b"{}", content_type="application/json")
    for request in (forged, stale, unsigned):
        assert receiver.nexus_shop_webhook(request).status_code == 400
    assert capsys.readouterr().out == ""
    assert _processed(receiver) == set()


def test_during_a_rotation_either_secret_verifies(receiver: Any) -> None:
    old = receiver.WEBHOOK_SECRET
    new = signing.new_secret()
    # The new secret's signature first, then the old one's (as the page says).
    assert receiver.nexus_shop_webhook(_delivery(new, old, event_id="evt_1")).status_code == 204
    receiver.WEBHOOK_SECRET = new
    assert receiver.nexus_shop_webhook(_delivery(new, old, event_id="evt_2")).status_code == 204
    receiver.WEBHOOK_SECRET = signing.new_secret()
    assert receiver.nexus_shop_webhook(_delivery(new, old, event_id="evt_3")).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_resync_loop_walks_the_feed_from_where_it_stopped(
    receiver: Any, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    written: list[tuple[str, dict[str, Any]]] = [
        ("product.updated", {"id": 7, "name": "Kettle"}),
        ("order.paid", ORDER),
        ("category.created", {"id": 3}),
        ("product.updated", {"id": 8, "name": "Mug"}),
    ]
    made = []
    for n, (type, data) in enumerate(written):
        with transaction.atomic():
            event = events.emit(type=type, resource_id=n + 1, data=data)
        assert event is not None
        made.append(event)
    for event in made:
        settled(event)
    token = bearer(StaffFactory(perms=["manage_webhooks"]))["Authorization"].split()[1]
    api = f"{live_server.url}/api"
    _processed(receiver).add(made[0].public_id)  # delivered by a webhook already

    last = receiver.resync(api, token, None)
    assert last == made[-1].public_id
    assert capsys.readouterr().out == ("order 100042 is paid: 19.00 USD\nproduct 8 changed: Mug\n")
    assert _processed(receiver) == {e.public_id for e in made}
    assert receiver.resync(api, token, last) == last  # nothing new
    assert receiver.resync(api, token, made[1].public_id) == last  # handled: not again
    assert capsys.readouterr().out == ""


@pytest.mark.django_db
def test_the_walk_through_end_to_end(
    receiver: Any, settings: Any, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's path with a real delivery on the wire: an endpoint created through the API,
    a staff change, a worker's ``nexus_shop_deliver_webhooks --once``, and the page's own
    receiver verifying what arrived, byte for byte, with the secret the API showed once."""
    settings.NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.NEXUS_SHOP_WEBHOOK_ALLOW_HTTP = True
    staff = bearer(StaffFactory(perms=["manage_webhooks", "change_product"]))
    product = ProductFactory(name="Kettle")
    with running_receiver() as wire:
        created = client.post(
            "/api/webhooks",
            {"url": wire.url("/ok"), "events": ["product.updated"], "description": "ERP"},
            content_type="application/json",
            headers=staff,
        )
        assert created.status_code == 201
        endpoint = created.json()
        receiver.WEBHOOK_SECRET = endpoint["secret"]
        changed = client.patch(
            f"/api/products/{product.pk}",
            {"name": "Kettle, steel"},
            content_type="application/json",
            headers=staff,
        )
        assert changed.status_code == 200
        out = StringIO()
        call_command("nexus_shop_deliver_webhooks", "--once", stdout=out)
        assert out.getvalue().strip() == "Webhook deliveries: 1 succeeded."
        (sent,) = wire.received()

    signed = {
        name: sent.headers[name]
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    arrived = RequestFactory().post(
        "/hooks/nexus", sent.body, content_type="application/json", headers=signed
    )
    assert receiver.nexus_shop_webhook(arrived).status_code == 204
    assert capsys.readouterr().out == f"product {product.pk} changed: Kettle, steel\n"
    body = json.loads(sent.body)
    assert (body["type"], body["data"]["name"]) == ("product.updated", "Kettle, steel")
    log = client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=staff).json()
    assert [
        (d["webhook_id"], d["status"], [a["status_code"] for a in d["attempts"]])
        for d in log["items"]
    ] == [(signed["webhook-id"], "succeeded", [200])]


def test_the_page_lists_every_event_type() -> None:
    text = PAGE.read_text()
    table = text.split("## The event types", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", table))
    assert listed == set(EVENT_TYPES)


def test_the_page_states_the_default_retry_schedule() -> None:
    def said(wait: timedelta) -> str:
        seconds = int(wait.total_seconds())
        for unit, size in (("h", 3600), ("min", 60)):
            if seconds % size == 0:
                return f"{seconds // size} {unit}"
        return f"{seconds} s"

    schedule = DEFAULTS["WEBHOOK_RETRY_SCHEDULE"]
    waits = ", ".join(said(wait) for wait in schedule[:-1]) + f" and {said(schedule[-1])}"
    text = " ".join(PAGE.read_text().split())
    assert f"after **{waits}**, {len(schedule) + 1} attempts over about 24 hours" in text
    assert timedelta(hours=23) < sum(schedule, timedelta()) <= timedelta(hours=24)
