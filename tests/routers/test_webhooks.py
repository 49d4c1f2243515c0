"""The webhook API (issue 19's table): every status, who may call it, and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from nexus_shop.models import Event, WebhookDelivery, WebhookEndpoint
from tests.conftest import bearer
from tests.factories import StaffFactory
from tests.support import webhook_rows as rows

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store"
PUBLIC = "https://93.184.215.14/hooks"
JSON = "application/json"


@pytest.fixture
def manager(db: None) -> Client:
    return Client(headers=bearer(StaffFactory(perms=["manage_webhooks"])))


def _private(response: Any) -> Any:
    assert response["Cache-Control"] == PRIVATE, (response.status_code, response.content)
    return response


def _create(client: Client, **body: Any) -> Any:
    payload = {"url": PUBLIC, "events": ["order.paid"], "description": "ERP", **body}
    return _private(client.post("/api/webhooks", payload, content_type=JSON))


# The table, row by row ----------------------------------------------------------------------


def test_create_answers_201_with_the_secret_this_once(manager: Client) -> None:
    response = _create(manager)
    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert {k: body[k] for k in ("id", "url", "events", "description", "is_enabled")} == {
        "id": endpoint.pk,
        "url": PUBLIC,
        "events": ["order.paid"],
        "description": "ERP",
        "is_enabled": True,
    }
    assert body["disabled_reason"] == ""
    assert body["failing_since"] is None
    # Never again: not in the detail, the list or a change.
    url = f"/api/webhooks/{endpoint.pk}"
    for again in (
        manager.get(url),
        manager.get("/api/webhooks"),
        manager.patch(url, {"description": "x"}, content_type=JSON),
    ):
        assert again.status_code == 200
        assert endpoint.secret not in again.content.decode()
        assert b'"secret"' not in again.content


def test_list_and_get_and_patch_and_delete(manager: Client) -> None:
    first = rows.endpoint(events=["order.paid"])
    second = rows.endpoint(events=["*"], is_enabled=False, disabled_reason="Answered 410 Gone.")
    page = _private(manager.get("/api/webhooks", {"page_size": 1})).json()
    assert [e["id"] for e in page["items"]] == [first.pk]
    assert (page["count"], page["count_exact"], page["page"], page["page_size"]) == (2, True, 1, 1)
    rest = manager.get("/api/webhooks", {"page_size": 1, "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in rest["items"]] == [second.pk]

    got = _private(manager.get(f"/api/webhooks/{second.pk}"))
    assert got.status_code == 200
    assert got.json()["disabled_reason"] == "Answered 410 Gone."

    patched = _private(
        manager.patch(
            f"/api/webhooks/{second.pk}",
            {"is_enabled": True, "events": ["product.created"], "url": PUBLIC},
            content_type=JSON,
        )
    )
    assert patched.status_code == 200, patched.content
    assert {k: patched.json()[k] for k in ("is_enabled", "disabled_reason", "events", "url")} == {
        "is_enabled": True,
        "disabled_reason": "",
        "events": ["product.created"],
        "url": PUBLIC,
    }

    deleted = _private(manager.delete(f"/api/webhooks/{first.pk}"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert not WebhookEndpoint.objects.filter(pk=first.pk).exists()
    for gone in (
        manager.get(f"/api/webhooks/{first.pk}"),
        manager.delete(f"/api/webhooks/{first.pk}"),
    ):
        assert _private(gone).status_code == 404
        assert gone.json()["detail"] == f"No webhook endpoint with id {first.pk}."


def test_rotate_secret_answers_the_new_secret_once(manager: Client) -> None:
    endpoint = rows.endpoint()
    response = _private(manager.post(f"/api/webhooks/{endpoint.pk}/rotate-secret"))
    assert response.status_code == 200, response.content
    body = response.json()
    endpoint.refresh_from_db()
    assert body["secret"] == endpoint.secret
    assert endpoint.previous_secret  # still signing, until:
    assert body["previous_secret_expires_at"] is not None
    assert set(body) == {"secret", "previous_secret_expires_at"}


def test_ping_answers_202_with_its_queued_delivery(manager: Client) -> None:
    endpoint = rows.endpoint()
    response = _private(manager.post(f"/api/webhooks/{endpoint.pk}/ping"))
    assert response.status_code == 202, response.content
    body = response.json()
    event = Event.objects.get(type="webhook.ping")
    assert body["webhook_id"] == event.public_id
    assert (body["event_type"], body["status"], body["attempts"]) == ("webhook.ping", "pending", [])
    assert WebhookDelivery.objects.get().pk == body["id"]


def test_deliveries_newest_first_with_attempts_and_filters(manager: Client) -> None:
    endpoint = rows.endpoint()
    now = timezone.now()
    old = rows.delivery(
        endpoint, rows.event("order.paid", 1), status="succeeded", attempts=2,
        created_at=now - timedelta(minutes=1),
    )  # fmt: skip
    new = rows.delivery(endpoint, rows.event("product.updated", 2), status="failed", attempts=1)
    url = f"/api/webhooks/{endpoint.pk}/deliveries"
    page = _private(manager.get(url)).json()
    assert [d["id"] for d in page["items"]] == [new.pk, old.pk]
    listed = page["items"][1]
    assert listed["webhook_id"] == f"evt_{old.event_id}"
    assert listed["event_type"] == "order.paid"
    assert [(a["status_code"], a["response_body"]) for a in listed["attempts"]] == [
        (503, "busy"),
        (200, "ok"),
    ]
    assert set(listed["attempts"][0]) == {
        "id",
        "at",
        "status_code",
        "latency_ms",
        "response_body",
        "error",
    }
    failed = manager.get(url, {"status": "failed"}).json()
    assert [d["id"] for d in failed["items"]] == [new.pk]
    paid = manager.get(url, {"event_type": "order.paid"}).json()
    assert [d["id"] for d in paid["items"]] == [old.pk]
    wrong = _private(manager.get(url, {"status": "lost"}))
    assert wrong.status_code == 422
    assert _private(manager.get("/api/webhooks/0/deliveries")).status_code == 404


def test_redeliver_answers_202_with_the_same_webhook_id(manager: Client) -> None:
    endpoint = rows.endpoint()
    delivery = rows.delivery(endpoint, rows.event(), status="given_up", attempts=3)
    url = f"/api/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver"
    response = _private(manager.post(url))
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["id"], body["webhook_id"], body["status"]) == (
        delivery.pk,
        f"evt_{delivery.event_id}",
        "pending",
    )
    assert len(body["attempts"]) == 3
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="delivering")
    busy = _private(manager.post(url))
    assert busy.status_code == 409
    missing = _private(manager.post(f"/api/webhooks/{endpoint.pk}/deliveries/0/redeliver"))
    assert missing.status_code == 404


def test_redeliver_since_answers_202_with_how_many(manager: Client) -> None:
    endpoint = rows.endpoint(events=["product.updated"])
    since = timezone.now() - timedelta(minutes=5)
    rows.delivery(endpoint, rows.event("product.updated", 1), status="succeeded")
    rows.event("product.updated", 2)  # from before it subscribed: gets a delivery
    rows.event("order.paid", 3)  # not subscribed to
    response = _private(
        manager.post(
            f"/api/webhooks/{endpoint.pk}/redeliver",
            {"since": since.isoformat()},
            content_type=JSON,
        )
    )
    assert response.status_code == 202, response.content
    assert response.json() == {"deliveries": 2}
    assert set(endpoint.deliveries.values_list("status", flat=True)) == {"pending"}


def test_event_types_carry_a_json_schema_each(manager: Client) -> None:
    response = _private(manager.get("/api/webhooks/event-types"))
    assert response.status_code == 200
    listed = {t["name"]: t for t in response.json()}
    assert set(listed["product.created"]) == {"name", "description", "schema"}
    assert listed["webhook.ping"]["schema"]["required"] == ["endpoint_id"]
    assert "order.cancelled" in listed


@pytest.mark.django_db(transaction=True)
def test_the_events_feed_resyncs_oldest_first(manager: Client) -> None:
    made = [rows.event("product.updated", n) for n in range(3)]
    paid = rows.event("order.paid", 9)
    for event in [*made, paid]:
        rows.settled(event)
    first = _private(manager.get("/api/webhooks/events", {"page_size": 2})).json()
    assert [e["id"] for e in first["items"]] == [made[0].public_id, made[1].public_id]
    assert first["items"][0] == {
        "id": made[0].public_id,
        "type": "product.updated",
        "timestamp": first["items"][0]["timestamp"],
        "data": {"id": 0},
    }
    assert first["next_cursor"] == made[1].public_id
    rest = manager.get("/api/webhooks/events", {"after": first["next_cursor"]}).json()
    assert [e["id"] for e in rest["items"]] == [made[2].public_id, paid.public_id]
    assert rest["next_cursor"] is None
    typed = manager.get("/api/webhooks/events", {"type": "order.paid"}).json()
    assert [e["id"] for e in typed["items"]] == [paid.public_id]
    for bad in ({"after": "evt_abc"}, {"after": "7"}, {"type": "nope"}):
        assert _private(manager.get("/api/webhooks/events", bad)).status_code == 422, bad
    Event.objects.filter(pk=made[0].pk).delete()
    pruned = _private(manager.get("/api/webhooks/events", {"after": made[0].public_id}))
    assert pruned.status_code == 422
    assert "has been pruned" in pruned.json()["detail"]
    assert pruned.json()["errors"][0]["loc"] == ["query", "after"]


# Who may call ------------------------------------------------------------------------------


def _every_operation(endpoint_id: int, delivery_id: int) -> list[tuple[str, str, Any]]:
    one = f"/api/webhooks/{endpoint_id}"
    since = {"since": "2026-11-29T10:00:00Z"}
    return [
        ("post", "/api/webhooks", {"url": PUBLIC, "events": ["*"]}),
        ("get", "/api/webhooks", None),
        ("get", "/api/webhooks/event-types", None),
        ("get", "/api/webhooks/events", None),
        ("get", one, None),
        ("patch", one, {"description": "x"}),
        ("delete", one, None),
        ("post", f"{one}/rotate-secret", None),
        ("post", f"{one}/ping", None),
        ("get", f"{one}/deliveries", None),
        ("post", f"{one}/deliveries/{delivery_id}/redeliver", None),
        ("post", f"{one}/redeliver", since),
    ]


def _call(client: Client, method: str, url: str, body: Any) -> Any:
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type=JSON)


@pytest.mark.parametrize(
    "who", ["anonymous", "bad token", "customer", "catalogue staff", "staff without the perm"]
)
def test_a_token_and_the_permission_are_needed_everywhere(who: str) -> None:
    endpoint = rows.endpoint()
    delivery = rows.delivery(endpoint, rows.event(), status="failed")
    before = (WebhookEndpoint.objects.count(), endpoint.secret, Event.objects.count())
    client = {
        "anonymous": Client(),
        "bad token": Client(headers={"Authorization": "Bearer nope"}),
        "customer": Client(headers=bearer(StaffFactory(is_staff=False, perms=[]))),
        "catalogue staff": Client(headers=bearer(StaffFactory())),
        "staff without the perm": Client(
            headers=bearer(StaffFactory(perms=["view_order", "change_order"]))
        ),
    }[who]
    want = 401 if who in ("anonymous", "bad token") else 403
    for method, url, body in _every_operation(endpoint.pk, delivery.pk):
        response = _private(_call(client, method, url, body))
        assert response.status_code == want, (method, url, response.content)
        if want == 401:
            assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        else:
            assert response.json()["detail"] == (
                "You need the 'nexus_shop.manage_webhooks' permission."
            )
    endpoint.refresh_from_db()
    assert (WebhookEndpoint.objects.count(), endpoint.secret, Event.objects.count()) == before
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"


# Bad input: a clear 4xx, and nothing stored --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"url": "not a url"}, "url", "scheme must be https"),
        ({"url": "https://10.0.0.7/hooks"}, "url", "private address (10.0.0.7)"),
        ({"url": "https://169.254.169.254/latest"}, "url", "cloud metadata address"),
        ({"url": "https://[::1]:8443/"}, "url", "loopback"),
        ({"url": "http://93.184.215.14/hooks"}, "url", "must be https"),
        ({"events": ["order.shipped"]}, "events", "Unknown event type 'order.shipped'"),
        ({"events": ["webhook.ping"]}, "events", "cannot be subscribed to"),
        ({"events": []}, "events", "at least 1 item"),
        ({"url": ""}, "url", "at least 1 character"),
        ({"description": "x" * 501}, "description", "at most 500 characters"),
        ({"secret": "whsec_mine"}, "secret", "Extra inputs are not permitted"),
        ({"is_enabled": False}, "is_enabled", "Extra inputs are not permitted"),
    ],
)
def test_bad_input_is_a_422_that_says_why_and_stores_nothing(
    manager: Client, body: dict[str, Any], field: str, says: str
) -> None:
    response = _create(manager, **body)
    assert response.status_code == 422, response.content
    error = response.json()
    assert says in error["detail"], error
    assert error["errors"][0]["loc"][:2] == ["body", field]
    assert not WebhookEndpoint.objects.exists()


def test_only_the_allowed_network_passes(manager: Client) -> None:
    # tests/settings.py allows 127.0.0.1/32 only: 127.0.0.2, 10.0.0.1... stay refused.
    assert _create(manager, url="https://127.0.0.2/").status_code == 422
    with override_settings(NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS=["10.0.0.0/8"]):
        assert _create(manager, url="https://10.0.0.1/").status_code == 201
        assert _create(manager, url=rows.RECEIVER).status_code == 422
    assert _create(manager, url=rows.RECEIVER).status_code == 201


@override_settings(NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS=2)
def test_one_endpoint_too_many_is_a_422(manager: Client) -> None:
    assert _create(manager).status_code == 201
    assert _create(manager).status_code == 201
    third = _create(manager)
    assert third.status_code == 422
    assert "At most 2 webhook endpoints" in third.json()["detail"]
    assert WebhookEndpoint.objects.count() == 2


@override_settings(NEXUS_SHOP_WEBHOOK_ALLOW_HTTP=True)
def test_plain_http_once_allowed(manager: Client) -> None:
    assert _create(manager, url="http://93.184.215.14/hooks").status_code == 201


def test_patch_refuses_what_create_refuses_and_changes_nothing(manager: Client) -> None:
    endpoint = rows.endpoint(events=["order.paid"])
    url = f"/api/webhooks/{endpoint.pk}"
    for body in (
        {"url": "https://192.168.0.10/", "description": "changed"},
        {"events": ["nope"], "description": "changed"},
        {"url": None},
        {"is_enabled": "yes"},
        {"secret": "whsec_mine"},
    ):
        response = _private(manager.patch(url, body, content_type=JSON))
        assert response.status_code == 422, (body, response.content)
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.url, stored.events, stored.description) == (rows.RECEIVER, ["order.paid"], "")


def test_a_disabled_endpoint_is_not_pinged_nor_redelivered_to(manager: Client) -> None:
    endpoint = rows.endpoint(is_enabled=False, disabled_reason="Disabled by staff.")
    delivery = rows.delivery(endpoint, rows.event(), status="failed")
    one = f"/api/webhooks/{endpoint.pk}"
    for response in (
        manager.post(f"{one}/ping"),
        manager.post(f"{one}/deliveries/{delivery.pk}/redeliver"),
        manager.post(f"{one}/redeliver", {"since": "2026-01-01T00:00:00Z"}, content_type=JSON),
    ):
        assert _private(response).status_code == 409
        assert "is disabled" in response.json()["detail"]
    assert not Event.objects.filter(type="webhook.ping").exists()
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"


def test_redeliver_since_needs_a_time_with_its_zone(manager: Client) -> None:
    endpoint = rows.endpoint()
    url = f"/api/webhooks/{endpoint.pk}/redeliver"
    for body in ({"since": "2026-11-29T10:00:00"}, {"since": "yesterday"}, {}):
        response = _private(manager.post(url, body, content_type=JSON))
        assert response.status_code == 422, (body, response.content)
