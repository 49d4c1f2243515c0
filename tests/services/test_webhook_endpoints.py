"""Webhook endpoint services: create, update, delete, rotate, ping, redeliver (one, since)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from nexus_shop.exceptions import Conflict, NotFound, ValidationFailed
from nexus_shop.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from nexus_shop.services import events
from nexus_shop.services.webhooks import endpoints as services
from nexus_shop.services.webhooks.network import UnsafeAddress
from tests.support import webhook_rows as rows
from tests.support.race import race_n

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hooks"  # a public address: no DNS needed


def _nothing_stored() -> None:
    assert WebhookEndpoint.objects.count() == 0
    assert Event.objects.count() == 0


# Create -----------------------------------------------------------------------------------


def test_create_makes_an_enabled_endpoint_with_a_fresh_secret() -> None:
    endpoint = services.endpoint_create(
        url=PUBLIC, events=["order.paid", "order.created", "order.paid"], description="ERP"
    )
    other = services.endpoint_create(url=rows.RECEIVER, events=["*"])
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC
    assert endpoint.events == ["order.paid", "order.created"]  # repeats dropped, order kept
    assert endpoint.description == "ERP"
    assert endpoint.is_enabled
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret != other.secret
    assert other.events == ["*"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("not a url", "scheme"),
        ("https://", "no host"),
        ("ftp://93.184.215.14/", "scheme"),
        ("http://93.184.215.14/", "must be https"),
        ("https://10.0.0.7/hooks", "private address"),
        ("https://192.168.1.1/", "private address"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[::1]/", "loopback"),
        ("https://127.0.0.2/", "loopback"),  # only 127.0.0.1/32 is allowed in the tests
        ("https://user:pw@93.184.215.14/", "credentials"),
        ("https://no-such-host.invalid/", "does not resolve"),
    ],
)
def test_create_refuses_an_unsafe_url_and_stores_nothing(url: str, why: str) -> None:
    with pytest.raises(UnsafeAddress, match=why) as caught:
        services.endpoint_create(url=url, events=["*"])
    assert caught.value.extra == {"field": "url"}
    _nothing_stored()


def test_plain_http_is_accepted_once_the_setting_allows_it() -> None:
    with override_settings(NEXUS_SHOP_WEBHOOK_ALLOW_HTTP=True):
        endpoint = services.endpoint_create(url="http://93.184.215.14/", events=["*"])
    assert endpoint.url == "http://93.184.215.14/"


@pytest.mark.parametrize(
    ("subscriptions", "why"),
    [
        (["order.shipped"], "Unknown event type 'order.shipped'"),
        (["product.created", "Product.Created"], "Unknown event type"),
        (["webhook.ping"], "cannot be subscribed to"),
        ([], "at least one"),
    ],
)
def test_create_refuses_unknown_event_types_and_stores_nothing(
    subscriptions: list[str], why: str
) -> None:
    with pytest.raises(ValidationFailed, match=why) as caught:
        services.endpoint_create(url=PUBLIC, events=subscriptions)
    assert caught.value.extra == {"field": "events"}
    _nothing_stored()


@override_settings(NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS=2)
def test_at_most_the_configured_number_of_endpoints_exist() -> None:
    services.endpoint_create(url=PUBLIC, events=["*"])
    services.endpoint_create(url=PUBLIC, events=["*"])
    with pytest.raises(ValidationFailed, match="At most 2 webhook endpoints"):
        services.endpoint_create(url=PUBLIC, events=["*"])
    assert WebhookEndpoint.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS=3)
def test_concurrent_creations_never_pass_the_limit() -> None:
    assert connection.vendor == "postgresql"
    outcomes = race_n(6, lambda n: services.endpoint_create(url=PUBLIC, events=["*"]))
    made = [o for o in outcomes if isinstance(o, WebhookEndpoint)]
    refused = [o for o in outcomes if isinstance(o, ValidationFailed)]
    assert (len(made), len(refused)) == (3, 3), outcomes
    assert WebhookEndpoint.objects.count() == 3


# Update and delete ------------------------------------------------------------------------


def test_update_changes_only_the_given_fields() -> None:
    endpoint = rows.endpoint(events=["order.paid"], description="old")
    services.endpoint_update(endpoint_id=endpoint.pk, description="new")
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.description) == (
        rows.RECEIVER,
        ["order.paid"],
        "new",
    )
    services.endpoint_update(endpoint_id=endpoint.pk, url=PUBLIC, events=["*", "*"])
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events) == (PUBLIC, ["*"])


def test_update_checks_a_new_url_and_the_event_types_and_changes_nothing_when_refused() -> None:
    endpoint = rows.endpoint(events=["order.paid"])
    before = WebhookEndpoint.objects.values().get(pk=endpoint.pk)
    with pytest.raises(UnsafeAddress):
        services.endpoint_update(endpoint_id=endpoint.pk, url="https://10.1.2.3/", description="x")
    with pytest.raises(ValidationFailed, match="Unknown event type"):
        services.endpoint_update(endpoint_id=endpoint.pk, events=["nope"], description="x")
    assert WebhookEndpoint.objects.values().get(pk=endpoint.pk) == before


def test_disabling_records_staff_and_enabling_starts_afresh() -> None:
    since = timezone.now() - timedelta(days=6)
    endpoint = rows.endpoint(is_enabled=False, disabled_reason="Answered 410 Gone.")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=since)
    enabled = services.endpoint_update(endpoint_id=endpoint.pk, is_enabled=True)
    assert (enabled.is_enabled, enabled.disabled_reason, enabled.failing_since) == (True, "", None)
    disabled = services.endpoint_update(endpoint_id=endpoint.pk, is_enabled=False)
    assert (disabled.is_enabled, disabled.disabled_reason) == (False, services.STAFF_DISABLED)
    # Saying "disabled" again keeps the reason it already had.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_reason="Answered 410 Gone.")
    again = services.endpoint_update(endpoint_id=endpoint.pk, is_enabled=False)
    assert again.disabled_reason == "Answered 410 Gone."


def test_an_unknown_endpoint_is_not_found_everywhere() -> None:
    calls: list[Any] = [
        lambda: services.endpoint_update(endpoint_id=404, description="x"),
        lambda: services.endpoint_delete(endpoint_id=404),
        lambda: services.rotate_secret(endpoint_id=404),
        lambda: services.ping(endpoint_id=404),
        lambda: services.redeliver(endpoint_id=404, delivery_id=1),
        lambda: services.redeliver_since(endpoint_id=404, since=timezone.now()),
    ]
    for call in calls:
        with pytest.raises(NotFound, match="No webhook endpoint with id 404"):
            call()


def test_delete_takes_the_deliveries_and_attempts_but_not_the_events() -> None:
    endpoint = rows.endpoint()
    event = rows.event()
    rows.delivery(endpoint, event, status="succeeded", attempts=2)
    services.endpoint_delete(endpoint_id=endpoint.pk)
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not WebhookAttempt.objects.exists()
    assert Event.objects.filter(pk=event.pk).exists()


# Secrets ----------------------------------------------------------------------------------


@override_settings(NEXUS_SHOP_WEBHOOK_SECRET_OVERLAP=timedelta(hours=3))
def test_rotation_keeps_the_old_secret_signing_for_the_overlap() -> None:
    endpoint = rows.endpoint()
    first = endpoint.secret
    before = timezone.now()
    rotated = services.rotate_secret(endpoint_id=endpoint.pk)
    assert rotated.secret.startswith("whsec_")
    assert rotated.secret != first
    assert rotated.previous_secret == first
    assert rotated.previous_secret_expires_at is not None
    assert (
        before + timedelta(hours=3)
        <= rotated.previous_secret_expires_at
        <= timezone.now() + timedelta(hours=3)
    )
    second = rotated.secret
    again = services.rotate_secret(endpoint_id=endpoint.pk)
    assert again.previous_secret == second  # one previous secret: the first is dropped
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.secret, stored.previous_secret) == (again.secret, second)


# Ping -------------------------------------------------------------------------------------


def test_ping_queues_one_event_and_one_delivery_to_that_endpoint_only() -> None:
    endpoint = rows.endpoint()
    other = rows.endpoint()
    before = timezone.now()
    delivery = services.ping(endpoint_id=endpoint.pk)
    event = Event.objects.get()
    assert (event.type, event.resource, event.data) == (
        "webhook.ping",
        f"endpoint:{endpoint.pk}",
        {"endpoint_id": endpoint.pk},
    )
    assert event.fanned_out  # its one delivery exists: the workers' fan-out skips it
    assert list(WebhookDelivery.objects.all()) == [delivery]
    assert delivery.endpoint_id == endpoint.pk
    assert delivery.event_id == event.pk
    assert (delivery.resource, delivery.sequence) == (event.resource, event.sequence)
    assert delivery.status == "pending"
    assert before <= delivery.next_attempt_at <= timezone.now()
    assert not other.deliveries.exists()


def test_a_disabled_endpoint_is_not_pinged() -> None:
    endpoint = rows.endpoint(is_enabled=False, disabled_reason="Answered 410 Gone.")
    with pytest.raises(Conflict, match=r"is disabled.*Answered 410 Gone"):
        services.ping(endpoint_id=endpoint.pk)
    assert not Event.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_ping_while_events_are_suppressed_is_refused() -> None:
    endpoint = rows.endpoint()
    with events.suppressed(), pytest.raises(Conflict, match="suppressed"):
        services.ping(endpoint_id=endpoint.pk)
    assert not WebhookDelivery.objects.exists()


# Redeliver --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["succeeded", "failed", "given_up", "pending"])
def test_redeliver_puts_the_same_event_back_in_the_queue(status: str) -> None:
    endpoint = rows.endpoint()
    event = rows.event()
    delivery = rows.delivery(endpoint, event, status=status, attempts=2)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=5)
    )
    before = timezone.now()
    again = services.redeliver(endpoint_id=endpoint.pk, delivery_id=delivery.pk)
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert again.pk == stored.pk
    assert stored.event_id == event.pk  # the same webhook-id
    assert stored.status == "pending"
    assert before <= stored.next_attempt_at <= timezone.now()
    assert (stored.finished_at, stored.lease_until) == (None, None)
    assert stored.attempt_count == 2
    assert stored.attempts.count() == 2  # the log is kept; the next attempt adds to it


def test_a_delivery_being_sent_is_not_redelivered() -> None:
    endpoint = rows.endpoint()
    delivery = rows.delivery(endpoint, rows.event(), status="delivering")
    with pytest.raises(Conflict, match="being sent right now"):
        services.redeliver(endpoint_id=endpoint.pk, delivery_id=delivery.pk)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "delivering"


def test_another_endpoints_delivery_is_not_found() -> None:
    mine, theirs = rows.endpoint(), rows.endpoint()
    delivery = rows.delivery(theirs, rows.event(), status="failed")
    with pytest.raises(NotFound, match=f"No delivery {delivery.pk} for webhook endpoint"):
        services.redeliver(endpoint_id=mine.pk, delivery_id=delivery.pk)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"


def test_redeliveries_to_a_disabled_endpoint_are_refused() -> None:
    endpoint = rows.endpoint(is_enabled=False)
    delivery = rows.delivery(endpoint, rows.event(), status="failed")
    with pytest.raises(Conflict, match="is disabled"):
        services.redeliver(endpoint_id=endpoint.pk, delivery_id=delivery.pk)
    with pytest.raises(Conflict, match="is disabled"):
        services.redeliver_since(endpoint_id=endpoint.pk, since=timezone.now() - timedelta(1))
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"


def test_redeliver_since_requeues_and_completes_every_subscribed_event_since() -> None:
    endpoint = rows.endpoint(events=["product.updated", "order.paid"])
    other = rows.endpoint()
    old = rows.event(created_at=timezone.now() - timedelta(days=2))
    old_delivery = rows.delivery(endpoint, old, status="succeeded", attempts=1)
    since = timezone.now() - timedelta(days=1)
    delivered = rows.event("product.updated", 7)
    delivered_delivery = rows.delivery(endpoint, delivered, status="succeeded", attempts=1)
    in_flight = rows.event("product.updated", 8)
    in_flight_delivery = rows.delivery(endpoint, in_flight, status="delivering")
    missed = rows.event("order.paid", 3)  # fanned out before the endpoint subscribed
    unwanted = rows.event("category.created", 4)  # not subscribed to
    not_yet = rows.event("product.updated", 9, fanned_out=False)  # the fan-out will do it
    other_ping = services.ping(endpoint_id=other.pk)
    own_ping = services.ping(endpoint_id=endpoint.pk)
    WebhookDelivery.objects.filter(pk=own_ping.pk).update(status="failed")

    before = timezone.now()
    queued = services.redeliver_since(endpoint_id=endpoint.pk, since=since)

    mine = {d.event_id: d for d in WebhookDelivery.objects.filter(endpoint=endpoint)}
    assert queued == 3  # delivered and the ping requeued, missed created
    assert set(mine) == {
        old.pk,
        delivered.pk,
        in_flight.pk,
        missed.pk,
        own_ping.event_id,
    }
    assert mine[old.pk].status == "succeeded"  # before `since`: untouched
    assert mine[old.pk].pk == old_delivery.pk
    assert mine[in_flight.pk].status == "delivering"  # left to finish
    assert mine[in_flight.pk].pk == in_flight_delivery.pk
    for event_id in (delivered.pk, missed.pk, own_ping.event_id):
        requeued = mine[event_id]
        assert requeued.status == "pending"
        assert before <= requeued.next_attempt_at <= timezone.now()
        assert requeued.finished_at is None
    assert mine[delivered.pk].pk == delivered_delivery.pk  # the same row: the same log
    created = mine[missed.pk]
    assert (created.resource, created.sequence) == (missed.resource, missed.sequence)
    assert unwanted.pk not in mine
    assert not_yet.pk not in mine
    assert other_ping.event_id not in mine


def test_redeliver_since_a_star_subscription_takes_every_type_but_others_pings() -> None:
    endpoint = rows.endpoint(events=["*"])
    other = rows.endpoint()
    since = timezone.now() - timedelta(minutes=1)
    wanted = [rows.event("product.created", 1), rows.event("category.deleted", 2)]
    services.ping(endpoint_id=other.pk)
    assert services.redeliver_since(endpoint_id=endpoint.pk, since=since) == 2
    assert sorted(endpoint.deliveries.values_list("event_id", flat=True)) == [e.pk for e in wanted]
    # Nothing new since: nothing to do, and asking again requeues the same two.
    assert services.redeliver_since(endpoint_id=endpoint.pk, since=timezone.now()) == 0
    assert services.redeliver_since(endpoint_id=endpoint.pk, since=since) == 2
    assert endpoint.deliveries.count() == 2
