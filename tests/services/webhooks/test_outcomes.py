"""What each answer leads to: retried on schedule, failed at once, given up, disabled."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from nexus_shop.models.events import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from nexus_shop.services.webhooks import delivery
from tests.factories import WebhookEndpointFactory, emit_event
from tests.services.webhooks.conftest import SCHEDULE
from tests.support.webhook_receiver import METADATA_URL, Receiver
from tests.support.webhooks import deliver_due

pytestmark = pytest.mark.django_db


def _within_jitter(at: datetime, wait: timedelta, when: datetime) -> bool:
    return at + wait * (1 - delivery.JITTER) <= when <= at + wait * (1 + delivery.JITTER)


def _due_again() -> None:
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now()
    )


@pytest.mark.parametrize("code", [500, 502, 503, 408, 429])
def test_5xx_408_and_429_are_retried_on_schedule(receiver: Receiver, code: int) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url(f"/status/{code}"))
    emit_event()
    [result] = deliver_due()

    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.PENDING
    assert row.attempt_count == 1
    assert row.finished_at is None
    assert _within_jitter(result.at, SCHEDULE[0], row.next_attempt_at)
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.status_code == code
    assert attempt.response_body.startswith("status ")
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    assert endpoint.is_enabled


def test_a_network_error_is_retried_and_logged(unreachable_port: int) -> None:
    WebhookEndpointFactory(url=f"http://127.0.0.1:{unreachable_port}/")
    emit_event()
    deliver_due()
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.PENDING
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.status_code is None
    assert "connection failed" in attempt.error
    assert "refused" in attempt.error.lower()


def test_each_retry_waits_the_next_step_then_the_delivery_is_given_up(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/status/500"))
    emit_event()
    for step in SCHEDULE:
        [result] = deliver_due()
        assert result.outcome == "retrying"
        assert _within_jitter(result.at, step, WebhookDelivery.objects.get().next_attempt_at)
        _due_again()
    [result] = deliver_due()
    assert result.outcome == "given_up"
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.GIVEN_UP
    assert row.attempt_count == len(SCHEDULE) + 1
    assert row.finished_at is not None
    assert len(receiver.received()) == len(SCHEDULE) + 1
    assert WebhookAttempt.objects.filter(delivery=row).count() == len(SCHEDULE) + 1


def test_a_later_success_finishes_the_delivery_and_clears_the_failure_run(
    receiver: Receiver,
) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/status/503"))
    emit_event()
    deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url("/ok"))
    _due_again()
    deliver_due()
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempt_count) == (DeliveryStatus.SUCCEEDED, 2)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
def test_other_4xx_fail_at_once_without_retry(receiver: Receiver, code: int) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url(f"/status/{code}"))
    emit_event()
    [result] = deliver_due()
    assert result.outcome == "failed"
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.FAILED
    assert row.finished_at is not None
    _due_again()
    assert deliver_due() == []  # nothing due: no retry
    assert len(receiver.received()) == 1
    endpoint.refresh_from_db()
    assert endpoint.is_enabled


def test_410_fails_and_disables_the_endpoint(receiver: Receiver) -> None:
    endpoint = WebhookEndpointFactory(url=receiver.url("/status/410"))
    emit_event(resource_id=1)
    emit_event(resource_id=2)
    deliver_due(batch_size=1)
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert "410 Gone" in endpoint.disabled_reason
    # The endpoint's other delivery waits, pending, and is not sent while it is disabled.
    assert deliver_due() == []
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 1
    assert len(receiver.received()) == 1


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_fails_without_being_followed(receiver: Receiver, code: int) -> None:
    target = receiver.url("/ok")
    WebhookEndpointFactory(url=receiver.url(f"/status/{code}?location={target}"))
    emit_event()
    [result] = deliver_due()
    assert result.outcome == "failed"
    assert [request.path for request in receiver.received()] == [f"/status/{code}"]
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.status_code == code
    assert "not followed" in attempt.error
    assert target in attempt.error


def test_a_redirect_to_the_metadata_address_is_not_followed(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/redirect-metadata"))
    emit_event()
    [result] = deliver_due()
    assert result.outcome == "failed"
    assert len(receiver.received()) == 1
    [attempt] = WebhookAttempt.objects.all()
    assert (attempt.status_code, METADATA_URL in attempt.error) == (302, True)


# Retry-After ------------------------------------------------------------------------------


def test_retry_after_in_seconds_stretches_the_wait(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/status/503?retry_after=120"))
    emit_event()
    [result] = deliver_due()
    when = WebhookDelivery.objects.get().next_attempt_at
    assert result.at + timedelta(seconds=120) <= when <= result.at + timedelta(seconds=121)


def test_retry_after_as_an_http_date(receiver: Receiver) -> None:
    later = timezone.now() + timedelta(seconds=600)
    date = email.utils.format_datetime(later, usegmt=True).replace(" ", "%20")
    WebhookEndpointFactory(url=receiver.url(f"/status/429?retry_after={date}"))
    emit_event()
    deliver_due()
    when = WebhookDelivery.objects.get().next_attempt_at
    assert later - timedelta(seconds=2) <= when <= later + timedelta(seconds=1)


def test_retry_after_never_shortens_the_wait(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/status/503?retry_after=0"))
    emit_event()
    [result] = deliver_due()
    assert _within_jitter(result.at, SCHEDULE[0], WebhookDelivery.objects.get().next_attempt_at)


def test_retry_after_is_capped_at_the_longest_wait_of_the_schedule(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/status/503?retry_after=999999999"))
    emit_event()
    [result] = deliver_due()
    when = WebhookDelivery.objects.get().next_attempt_at
    assert when <= result.at + max(SCHEDULE) + timedelta(seconds=1)
    assert when >= result.at + max(SCHEDULE) - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("30", timedelta(seconds=30)),
        (" 7 ", timedelta(seconds=7)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", timedelta(0)),  # in the past: no extra wait
    ],
)
def test_retry_after_values(value: str | None, expected: timedelta | None) -> None:
    assert delivery.retry_after(value, now=timezone.now()) == expected


# Disabling after a long failure run ---------------------------------------------------------


def test_an_endpoint_failing_every_delivery_for_the_disable_time_is_disabled(
    receiver: Receiver, settings: object
) -> None:
    endpoint = WebhookEndpointFactory(
        url=receiver.url("/status/500"), failing_since=timezone.now() - timedelta(days=5, hours=1)
    )
    emit_event()
    deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert "Every delivery failed" in endpoint.disabled_reason
    assert "NEXUS_SHOP_WEBHOOK_DISABLE_AFTER" in endpoint.disabled_reason


def test_a_shorter_failure_run_keeps_the_endpoint(receiver: Receiver) -> None:
    since = timezone.now() - timedelta(days=4)
    endpoint = WebhookEndpointFactory(url=receiver.url("/status/500"), failing_since=since)
    emit_event()
    deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.is_enabled
    assert endpoint.failing_since == since  # the run goes on from where it began


def test_one_success_in_the_batch_keeps_the_endpoint_off_the_failure_run(
    receiver: Receiver,
) -> None:
    endpoint = WebhookEndpointFactory(
        url=receiver.url("/ok"), failing_since=timezone.now() - timedelta(days=6)
    )
    emit_event()
    deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.is_enabled
    assert endpoint.failing_since is None


def test_an_unexpected_error_is_the_attempt_s_error_not_the_worker_s(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    broken = WebhookEndpointFactory(url=receiver.url("/ok"), secret="whsec_")  # empty key
    healthy = WebhookEndpointFactory(url=receiver.url("/ok"))
    emit_event()
    with caplog.at_level("ERROR", logger="nexus_shop.webhooks"):
        results = deliver_due()
    outcomes = {r.claimed.endpoint_id: r.outcome for r in results}
    assert outcomes == {broken.pk: "retrying", healthy.pk: "succeeded"}
    attempt = WebhookAttempt.objects.get(delivery__endpoint=broken)
    assert "EmptyWebhookSecretError" in attempt.error
    assert "failed unexpectedly" in caplog.text
