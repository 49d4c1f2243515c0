"""Delivering the outbox: fan-out, claims, the signed POST, and what each answer means.

One pass of a worker (:class:`nexus_shop.services.webhooks.worker.Worker`, the
``nexus_shop_deliver_webhooks`` command, the ``nexus_shop.tasks.deliver_webhooks`` task):

1. :func:`fan_out`: committed events not yet fanned out get one :class:`WebhookDelivery`
   per enabled endpoint subscribed to their type, and are marked ``fanned_out``.
2. :func:`claim`: due deliveries become ``delivering`` under a lease, and the claim commits.
3. :func:`send`, outside any transaction (a thread pool sends a batch at once): the POST,
   signed as the Standard Webhooks specification says, through
   :mod:`~nexus_shop.services.webhooks.transport`.
4. :func:`record`: every attempt logged, each delivery's new status, endpoints' failure
   runs, all in one transaction per batch.

Both queries that pick rows (1 and 2) use ``SELECT ... FOR UPDATE SKIP LOCKED``: any number
of workers, on any number of hosts, share the work without waiting for one another, and no
row is taken by two of them at once.

**Ordering.** A delivery is due when it is ``pending`` and its ``next_attempt_at`` has come,
or ``delivering`` and its lease has lapsed (a claim sets ``next_attempt_at`` to the lease's
end, so one indexed condition, ``next_attempt_at <= now``, finds both). It is *eligible*
only when, in the same snapshot,

- no delivery to the same endpoint of the same resource with a lower ``sequence`` is still
  pending or delivering, and
- no event of the same resource with a lower ``sequence`` is still waiting for its fan-out.

Sequences are numbered under the resource's row lock (see :mod:`nexus_shop.models.events`),
so event *n* of a resource is committed before event *n + 1* is even numbered: whenever
*n + 1* is visible, *n* is, either not fanned out yet (the second rule holds *n + 1* back)
or with its deliveries (the first rule does). So event *n + 1* of ``product:42`` is sent to
an endpoint only once event *n* has succeeded, failed or been given up there, while every
other resource goes on. A claim's own ``UPDATE`` changes the row's ``next_attempt_at``, which
PostgreSQL re-checks on a row another worker changed meanwhile, so a delivery is never
claimed twice.

**At least once.** A worker that dies (SIGKILL, a lost host) leaves its claims
``delivering``; once their lease lapses, another worker takes them and sends them again,
with the same ``webhook-id`` (``evt_<id>``), which receivers de-duplicate on. A result is
recorded only by the worker that still holds the lease (its ``lease_until``, unique to its
claim), so a worker that was merely slow cannot overwrite its successor's outcome.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

import nexus_shop
from nexus_shop import instruments, tracing
from nexus_shop.conf import conf
from nexus_shop.events import subscribed
from nexus_shop.models.events import (
    DeliveryStatus,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from nexus_shop.services.webhooks import signing, transport

logger = logging.getLogger("nexus_shop.webhooks")

USER_AGENT = f"nexus-shop/{nexus_shop.__version__} (webhooks)"
UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.DELIVERING)
FINAL = frozenset({DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.GIVEN_UP})
JITTER = 0.2
"""Each wait of the retry schedule is stretched or shortened by up to this fraction, so that
deliveries that failed together do not all come back at the same second."""
RETRYABLE_STATUSES = frozenset({408, 429})
MAX_LOGGED = 1024  # characters of an answer's body, or of an error, kept in the attempt


@dataclass(frozen=True)
class Claimed:
    """A delivery in a worker's hands: everything :func:`send` needs, read at the claim."""

    delivery_id: int
    endpoint_id: int
    event_id: int
    event_type: str
    url: str
    secrets: tuple[str, ...]
    body: bytes
    attempt: int  # this attempt's number, 1 for the first
    lease_until: datetime

    @property
    def webhook_id(self) -> str:
        return f"evt_{self.event_id}"


class Outcome:
    """What an attempt leads to (also the metric's ``outcome`` label)."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # pending again, until next_attempt_at
    FAILED = "failed"  # an answer that no retry would change: 3xx, 4xx other than 408/429
    GIVEN_UP = "given_up"  # the retry schedule is spent
    LEASE_LOST = "lease_lost"  # another worker took the delivery over; nothing recorded
    RELEASED = "released"  # not sent (the worker was stopping); pending again at once


STATUS_OF = {
    Outcome.SUCCEEDED: DeliveryStatus.SUCCEEDED,
    Outcome.RETRYING: DeliveryStatus.PENDING,
    Outcome.FAILED: DeliveryStatus.FAILED,
    Outcome.GIVEN_UP: DeliveryStatus.GIVEN_UP,
}


@dataclass(frozen=True)
class Result:
    """One attempt of one claimed delivery, and what it leads to."""

    claimed: Claimed
    at: datetime
    outcome: str
    status_code: int | None
    latency_ms: int
    response_body: str
    error: str
    next_attempt_at: datetime | None  # when RETRYING
    gone: bool = False  # a 410: the endpoint is disabled


# 1. Fan-out -------------------------------------------------------------------------------


def fan_out(*, batch_size: int = 500) -> int:
    """Create the deliveries of up to ``batch_size`` committed events not yet fanned out:
    one per enabled endpoint subscribed to the event's type. Returns the events handled.

    Rows another worker is fanning out are skipped (``SKIP LOCKED``), not waited for.
    """
    now = timezone.now()
    with transaction.atomic():
        events = list(
            Event.objects.filter(fanned_out=False)
            .order_by("resource", "sequence")
            .select_for_update(skip_locked=True)
            .only("id", "type", "resource", "sequence")[:batch_size]
        )
        if not events:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(is_enabled=True).only("id", "events"))
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery.due_now(
                    endpoint_id=endpoint.pk,
                    event_id=event.pk,
                    resource=event.resource,
                    sequence=event.sequence,
                    now=now,
                )
                for event in events
                for endpoint in endpoints
                if subscribed(endpoint.events, event.type)
            ],
            batch_size=1000,
            # A delivery that exists already (a ping's, made with its event) stays as it is.
            ignore_conflicts=True,
        )
        Event.objects.filter(pk__in=[event.pk for event in events]).update(fanned_out=True)
    return len(events)


# 2. Claims --------------------------------------------------------------------------------


def eligible(now: datetime) -> QuerySet[WebhookDelivery]:
    """Deliveries due at ``now`` whose turn has come (the module docstring's two rules), to
    enabled endpoints. A disabled endpoint's deliveries wait, pending, until it is
    enabled again."""
    earlier_delivery = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        resource=OuterRef("resource"),
        sequence__lt=OuterRef("sequence"),
        status__in=UNFINISHED,
    )
    earlier_event = Event.objects.filter(
        resource=OuterRef("resource"), sequence__lt=OuterRef("sequence"), fanned_out=False
    )
    return WebhookDelivery.objects.filter(
        status__in=UNFINISHED, next_attempt_at__lte=now, endpoint__is_enabled=True
    ).filter(~Exists(earlier_delivery), ~Exists(earlier_event))


def lease_for(*, batch_size: int, concurrency: int) -> timedelta:
    """How long a claim of ``batch_size`` deliveries sent ``concurrency`` at a time may
    take at worst (every attempt to its deadline), plus one more deadline for recording."""
    rounds = math.ceil(batch_size / max(1, concurrency))
    return timedelta(seconds=conf.WEBHOOK_TIMEOUT * (rounds + 1) + 5)


def _secrets(endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return (endpoint.secret, endpoint.previous_secret)
    return (endpoint.secret,)


def body_of(event: Event) -> bytes:
    """The request body: ``{"type", "timestamp", "data"}``, the timestamp the event's
    ``created_at`` in ISO 8601 (UTC, ``Z``). The same bytes at every attempt."""
    created = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    document = {"type": event.type, "timestamp": created, "data": event.data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def claim(*, batch_size: int, lease: timedelta) -> list[Claimed]:
    """Take up to ``batch_size`` eligible deliveries, oldest due first, for ``lease``.

    Commits before returning: the sending happens outside any transaction, and another
    worker sees these rows as ``delivering`` (and skips the same resource's later events).
    """
    now = timezone.now()
    lease_until = now + lease
    with transaction.atomic():
        ids = list(
            eligible(now)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.DELIVERING, lease_until=lease_until, next_attempt_at=lease_until
        )
        rows = list(
            WebhookDelivery.objects.filter(pk__in=ids)
            .select_related("event", "endpoint")
            .order_by("next_attempt_at", "id")
        )
    return [
        Claimed(
            delivery_id=row.pk,
            endpoint_id=row.endpoint_id,
            event_id=row.event_id,
            event_type=row.event.type,
            url=row.endpoint.url,
            secrets=_secrets(row.endpoint, now),
            body=body_of(row.event),
            attempt=row.attempt_count + 1,
            lease_until=lease_until,
        )
        for row in rows
    ]


# 3. Sending -------------------------------------------------------------------------------


def retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """A ``Retry-After`` header as a wait: delay-seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value[:9]), 10**8))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


def next_attempt(*, attempt: int, now: datetime, asked: timedelta | None = None) -> datetime | None:
    """When to try again after failed attempt number ``attempt``, or None once the retry
    schedule is spent. ``asked`` (a ``Retry-After``) may stretch the wait, never shorten
    it, up to the schedule's longest wait."""
    schedule = conf.WEBHOOK_RETRY_SCHEDULE
    if attempt > len(schedule):
        return None
    wait = schedule[attempt - 1] * (1 + random.uniform(-JITTER, JITTER))  # noqa: S311  (jitter, not a secret)
    if asked is not None:
        wait = max(wait, min(asked, max(schedule)))
    return now + wait


def _text(data: bytes | str) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text.replace("\x00", "\ufffd")[:MAX_LOGGED]  # PostgreSQL text holds no NUL


def headers_for(claimed: Claimed, at: datetime) -> dict[str, str]:
    """The request's headers at time ``at``: the Standard Webhooks three, and ours."""
    return {
        "webhook-id": claimed.webhook_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signing.signature(
            secrets_=claimed.secrets, event_id=claimed.webhook_id, timestamp=at, body=claimed.body
        ),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "connection": "close",
    }


def send(claimed: Claimed) -> Result:
    """One attempt of ``claimed``: the POST, and what its answer (or its absence) means.

    Touches no database: it runs in a worker's thread pool, between :func:`claim` and
    :func:`record`. Never raises: an unexpected error (an endpoint's secret that is not a
    ``whsec_`` one, say) is this attempt's error, retried like a network error, so one
    bad endpoint cannot stop a worker.
    """
    at = timezone.now()
    status: int | None = None
    body = error = ""
    gone = False
    asked: timedelta | None = None
    with tracing.span(
        "webhook.delivery", event_type=claimed.event_type, attempt=claimed.attempt
    ) as span:
        started = time.perf_counter()
        try:
            headers = headers_for(claimed, at)
            tracing.inject(headers)
            answer = transport.post(
                claimed.url,
                headers=headers,
                body=claimed.body,
                connect_timeout=conf.WEBHOOK_CONNECT_TIMEOUT,
                timeout=conf.WEBHOOK_TIMEOUT,
            )
        except transport.TransportError as failure:
            error = str(failure)
        except Exception as failure:
            logger.exception("Webhook delivery %s failed unexpectedly", claimed.delivery_id)
            error = f"{type(failure).__name__}: {failure}"
        else:
            status = answer.status
            body = _text(answer.body)
            if 300 <= status < 400:
                error = f"redirects are not followed (Location: {answer.location or 'none'})"
            asked = retry_after(answer.retry_after, now=at)
        seconds = time.perf_counter() - started
        instruments.webhook_attempt(status=status, seconds=seconds)
        if status is not None and 200 <= status < 300:
            outcome, when = Outcome.SUCCEEDED, None
        elif status is None or status >= 500 or status in RETRYABLE_STATUSES:
            when = next_attempt(attempt=claimed.attempt, now=at, asked=asked)
            outcome = Outcome.RETRYING if when is not None else Outcome.GIVEN_UP
        else:
            outcome, when = Outcome.FAILED, None
            gone = status == 410
        span.set("outcome", outcome)
        if status is not None:
            span.set("status_code", status)
    return Result(
        claimed=claimed,
        at=at,
        outcome=outcome,
        status_code=status,
        latency_ms=round(seconds * 1000),
        response_body=body,
        error=_text(error),
        next_attempt_at=when,
        gone=gone,
    )


# 4. Recording -----------------------------------------------------------------------------


def _owned(claimed: Iterable[Claimed]) -> set[int]:
    """The deliveries among ``claimed`` still held by this claim (locked until commit)."""
    by_lease: dict[datetime, list[int]] = {}
    for item in claimed:
        by_lease.setdefault(item.lease_until, []).append(item.delivery_id)
    owned: set[int] = set()
    for lease_until, ids in by_lease.items():
        owned |= set(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=ids, status=DeliveryStatus.DELIVERING, lease_until=lease_until)
            .values_list("pk", flat=True)
        )
    return owned


def _endpoints_after(results: Sequence[Result], now: datetime) -> None:
    """Failure runs: any success clears ``failing_since``; a failure starts one; an
    endpoint failing for ``NEXUS_SHOP_WEBHOOK_DISABLE_AFTER``, or answered 410, is disabled."""
    succeeded = {r.claimed.endpoint_id for r in results if r.outcome == Outcome.SUCCEEDED}
    failing = {r.claimed.endpoint_id for r in results} - succeeded
    gone = {r.claimed.endpoint_id for r in results if r.gone}
    if succeeded:
        WebhookEndpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(
            failing_since=None
        )
    if failing:
        WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
            failing_since=now
        )
        since = now - conf.WEBHOOK_DISABLE_AFTER
        for endpoint in WebhookEndpoint.objects.filter(
            pk__in=failing, is_enabled=True, failing_since__lte=since
        ).only("id", "failing_since"):
            began = endpoint.failing_since or now  # never None: the filter says so
            reason = (
                f"Every delivery failed from {began:%Y-%m-%d %H:%M} UTC for "
                f"{conf.WEBHOOK_DISABLE_AFTER} (NEXUS_SHOP_WEBHOOK_DISABLE_AFTER)."
            )
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                is_enabled=False, disabled_reason=reason
            )
            logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
    if gone:
        reason = f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC."
        WebhookEndpoint.objects.filter(pk__in=gone, is_enabled=True).update(
            is_enabled=False, disabled_reason=reason
        )
        logger.warning("Webhook endpoints %s disabled: %s", sorted(gone), reason)


def _write_states(results: Sequence[Result]) -> None:
    """Each delivery's new status, attempt count, next attempt and end, in one statement.

    On PostgreSQL an ``UPDATE ... FROM (VALUES ...)``: Django's ``bulk_update`` builds a
    ``CASE`` expression per row and field in Python, which cost a worker more CPU than
    sending the batch did (4.4 s of 7.7 s for 2,000 deliveries, measured with cProfile).
    Elsewhere (SQLite), ``bulk_update``.
    """
    if not results:
        return
    rows = [
        (
            r.claimed.delivery_id,
            STATUS_OF[r.outcome],
            r.claimed.attempt,
            r.next_attempt_at or r.at,
            None if r.outcome == Outcome.RETRYING else r.at,
        )
        for r in results
    ]
    using = router.db_for_write(WebhookDelivery)
    connection = connections[using]
    if connection.vendor != "postgresql":
        WebhookDelivery.objects.using(using).bulk_update(
            [
                WebhookDelivery(
                    pk=pk,
                    status=status,
                    attempt_count=attempt,
                    next_attempt_at=next_at,
                    lease_until=None,
                    finished_at=finished,
                )
                for pk, status, attempt, next_at, finished in rows
            ],
            ["status", "attempt_count", "next_attempt_at", "lease_until", "finished_at"],
        )
        return
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    values = ", ".join(
        ["(%s::bigint, %s::varchar, %s::integer, %s::timestamptz, %s::timestamptz)"] * len(rows)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET status = v.status, attempt_count = v.attempt_count, "  # noqa: S608  (names from _meta, values bound)
            "next_attempt_at = v.next_attempt_at, lease_until = NULL, finished_at = v.finished_at "
            f"FROM (VALUES {values}) "
            "AS v (id, status, attempt_count, next_attempt_at, finished_at) WHERE d.id = v.id",
            [value for row in rows for value in row],
        )


def record(results: Sequence[Result]) -> Counter[str]:
    """Write the attempts of one batch and their deliveries' new states, in one transaction.

    Results whose delivery another worker has taken over since (a lapsed lease) are
    dropped (``lease_lost``): that worker sends and records its own attempt. Returns the
    outcomes, counted.
    """
    outcomes: Counter[str] = Counter()
    if not results:
        return outcomes
    now = timezone.now()
    with transaction.atomic():
        owned = _owned(r.claimed for r in results)
        mine = [r for r in results if r.claimed.delivery_id in owned]
        WebhookAttempt.objects.bulk_create(
            [
                WebhookAttempt(
                    delivery_id=r.claimed.delivery_id,
                    at=r.at,
                    status_code=r.status_code,
                    latency_ms=r.latency_ms,
                    response_body=r.response_body,
                    error=r.error,
                )
                for r in mine
            ]
        )
        _write_states(mine)
        _endpoints_after(mine, now)
    outcomes.update(r.outcome for r in mine)
    if len(mine) < len(results):
        outcomes[Outcome.LEASE_LOST] += len(results) - len(mine)
    for outcome, amount in outcomes.items():
        if amount:
            instruments.count(instruments.WEBHOOK_DELIVERIES, outcome, amount=amount)
    return outcomes


def release(claimed: Sequence[Claimed]) -> int:
    """Give back claims that were never sent (a worker stopping): pending, due at once."""
    if not claimed:
        return 0
    now = timezone.now()
    released = 0
    with transaction.atomic():
        owned = _owned(claimed)
        released = WebhookDelivery.objects.filter(pk__in=owned).update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, lease_until=None
        )
    instruments.count(instruments.WEBHOOK_DELIVERIES, Outcome.RELEASED, amount=released)
    return released
