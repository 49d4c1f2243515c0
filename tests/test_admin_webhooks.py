"""The Django admin for webhook endpoints and deliveries, driven through the admin client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings

from nexus_shop.models import Event, WebhookDelivery, WebhookEndpoint
from tests.factories import StaffFactory, UserFactory
from tests.support import webhook_rows as rows

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/nexus_shop/webhookendpoint/"
DELIVERIES = "/admin/nexus_shop/webhookdelivery/"
PUBLIC = "https://93.184.215.14/hooks"


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": PUBLIC,
        "events": ["order.paid", "order.created"],
        "description": "ERP",
        "is_enabled": "on",
        "_save": "Save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_creating_shows_the_secret_once_as_a_message_never_in_the_form(
    admin_client: Client,
) -> None:
    add = admin_client.get(f"{ENDPOINTS}add/")
    assert add.status_code == 200
    assert b'name="secret"' not in add.content
    response = admin_client.post(f"{ENDPOINTS}add/", _form(), follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.events, endpoint.is_enabled) == (
        PUBLIC,
        ["order.paid", "order.created"],
        True,
    )
    shown = [m for m in _messages(response) if endpoint.secret in m]
    assert len(shown) == 1
    assert "not shown again" in shown[0]
    change = admin_client.get(f"{ENDPOINTS}{endpoint.pk}/change/")
    assert change.status_code == 200
    assert endpoint.secret not in change.content.decode()
    assert endpoint.secret not in admin_client.get(ENDPOINTS).content.decode()


def test_a_new_endpoint_may_start_disabled(admin_client: Client) -> None:
    admin_client.post(f"{ENDPOINTS}add/", _form(is_enabled=None))
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.is_enabled, endpoint.disabled_reason) == (False, "Disabled by staff.")


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"url": "https://10.0.0.7/"}, "url", "private address"),
        ({"url": "https://169.254.169.254/latest"}, "url", "metadata"),
        ({"url": "http://93.184.215.14/"}, "url", "must be https"),
        ({"events": ["webhook.ping"]}, "events", "not one of the available choices"),
    ],
)
def test_what_the_services_refuse_is_a_form_error_and_nothing_is_stored(
    admin_client: Client, overrides: dict[str, Any], field: str, says: str
) -> None:
    response = admin_client.post(f"{ENDPOINTS}add/", _form(**overrides))
    assert response.status_code == 200  # the page again, with the error
    errors = response.context["adminform"].form.errors
    assert says in " ".join(errors[field]), errors
    assert not WebhookEndpoint.objects.exists()


@override_settings(NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS=1)
def test_one_endpoint_too_many_is_a_form_error(admin_client: Client) -> None:
    rows.endpoint()
    response = admin_client.post(f"{ENDPOINTS}add/", _form())
    assert response.status_code == 200
    assert "At most 1 webhook endpoints" in str(
        response.context["adminform"].form.non_field_errors()
    )
    assert WebhookEndpoint.objects.count() == 1


def test_changing_goes_through_the_service(admin_client: Client) -> None:
    endpoint = rows.endpoint(is_enabled=False, disabled_reason="Answered 410 Gone.")
    response = admin_client.post(
        f"{ENDPOINTS}{endpoint.pk}/change/", _form(url=rows.RECEIVER, events=["*"])
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.is_enabled, endpoint.disabled_reason) == (["*"], True, "")
    refused = admin_client.post(
        f"{ENDPOINTS}{endpoint.pk}/change/", _form(url="https://192.168.1.1/")
    )
    assert refused.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.url == rows.RECEIVER


def test_delete_and_the_ping_and_rotate_actions(admin_client: Client) -> None:
    endpoint = rows.endpoint()
    disabled = rows.endpoint(is_enabled=False)
    first_secret = endpoint.secret
    response = admin_client.post(
        ENDPOINTS,
        {"action": "ping", "_selected_action": [endpoint.pk, disabled.pk]},
        follow=True,
    )
    assert Event.objects.get(type="webhook.ping").data == {"endpoint_id": endpoint.pk}
    assert WebhookDelivery.objects.get().endpoint_id == endpoint.pk
    said = _messages(response)
    assert "Queued 1 ping(s)." in said
    assert any("is disabled" in m for m in said)

    response = admin_client.post(
        ENDPOINTS, {"action": "rotate_secret", "_selected_action": [endpoint.pk]}, follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == first_secret
    assert [m for m in _messages(response) if endpoint.secret in m]

    response = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.objects.exists()


def test_deliveries_are_read_only_with_their_attempts_and_can_be_redelivered(
    admin_client: Client,
) -> None:
    endpoint = rows.endpoint()
    delivery = rows.delivery(endpoint, rows.event("order.paid", 4), status="failed", attempts=2)
    listed = admin_client.get(DELIVERIES)
    assert listed.status_code == 200
    assert f"evt_{delivery.event_id}" in listed.content.decode()
    page = admin_client.get(f"{DELIVERIES}{delivery.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "order.paid" in html
    assert "busy" in html  # the first attempt's answer, inline
    assert not re.search(r'<input[^>]+name="status"', html)  # read-only
    assert admin_client.get(f"{DELIVERIES}add/").status_code == 403

    response = admin_client.post(
        DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )
    assert "Queued 1 delivery(ies) again." in _messages(response)
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (stored.status, stored.event_id, stored.attempts.count()) == (
        "pending",
        delivery.event_id,
        2,
    )


def test_the_webhook_pages_need_the_manage_webhooks_permission() -> None:
    endpoint = rows.endpoint()
    delivery = rows.delivery(endpoint, rows.event(), status="failed")
    catalogue = Client()
    catalogue.force_login(StaffFactory())  # every catalogue permission, not this one
    for url in (ENDPOINTS, f"{ENDPOINTS}{endpoint.pk}/change/", f"{ENDPOINTS}add/", DELIVERIES):
        assert catalogue.get(url).status_code == 403, url
    manager = Client()
    manager.force_login(StaffFactory(perms=["manage_webhooks"]))
    assert manager.get(ENDPOINTS).status_code == 200
    assert manager.get(f"{DELIVERIES}{delivery.pk}/change/").status_code == 200
    response = manager.post(
        DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "pending", _messages(response)
