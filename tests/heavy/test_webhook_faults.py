"""Webhook delivery under faults, with real worker processes and a real local receiver.

Workers are ``python -m django nexus_shop_deliver_webhooks`` on the test database
(``tests.webhook_settings``: the receiver reachable, short retry waits); the receiver runs
in this process and records every request and every answer. Four faults:

- the receiver is down (connections reset) for 2 minutes, then up;
- a worker is SIGKILLed while its requests are in flight;
- PostgreSQL restarts under the workers: a server of the test's own
  (tests/support/postgres_server.py; the shared one is never touched), migrated into a
  fresh database, is restarted (``pg_ctl restart -m fast``: every session terminated),
  then stopped with events waiting until each worker has failed four passes (about
  3.5 s), then started; events are committed after each fault too;
- the receiver fails 30% of requests at random.

Each asserts what at-least-once promises: every event delivered (answered 2xx), and each
resource's events in order (event n + 1 first arrives after event n was acknowledged).
Duplicates are allowed, counted and printed (``-s``), never asserted.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction
from standardwebhooks import Webhook

from nexus_shop.models import Event
from nexus_shop.models.events import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.factories import WebhookEndpointFactory, emit_event
from tests.heavy.example_server import database_url
from tests.support import wait_until
from tests.support.postgres_server import django_connected_to, running_postgres
from tests.support.processes import ROOT, Background, background
from tests.support.webhook_receiver import Receiver, running_receiver

pytestmark = [pytest.mark.heavy, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextmanager
def workers(
    count: int,
    *,
    schedule: str,
    timeout: float = 2.0,
    batch: int = 20,
    concurrency: int = 10,
    db_url: str | None = None,
) -> Iterator[list[Background]]:
    env: dict[str, Any] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.webhook_settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url or database_url(connection.settings_dict),
        "REDIS_URL": "",
        "WEBHOOK_SCHEDULE": schedule,
        "WEBHOOK_TIMEOUT": str(timeout),
    }
    command = [
        sys.executable, "-m", "django", "nexus_shop_deliver_webhooks", "--idle-sleep", "0.1",
        "--batch", str(batch), "--concurrency", str(concurrency),
    ]  # fmt: skip
    with ExitStack() as stack:
        yield [stack.enter_context(background(command, env=env)) for _ in range(count)]


def _emit(resources: Sequence[int], per_resource: int) -> list[Event]:
    return [
        emit_event("product.updated", resource_id=resource, data={"id": resource, "n": n})
        for n in range(per_resource)
        for resource in resources
    ]


def _all_succeeded(endpoint: WebhookEndpoint, events: Sequence[Event]) -> bool:
    done = WebhookDelivery.objects.filter(
        endpoint=endpoint, event__in=events, status=DeliveryStatus.SUCCEEDED
    ).count()
    return done == len(events)


def _wait_delivered(
    endpoint: WebhookEndpoint, events: Sequence[Event], running: list[Background], timeout: float
) -> None:
    try:
        wait_until(
            lambda: _all_succeeded(endpoint, events), "every event delivered", timeout=timeout
        )
    except TimeoutError:
        statuses = Counter(WebhookDelivery.objects.values_list("status", flat=True))
        logs = "\n".join(worker.output()[-3000:] for worker in running)
        raise AssertionError(f"not all delivered: {statuses}\n{logs}") from None


def _check(receiver: Receiver, endpoint: WebhookEndpoint, events: Sequence[Event]) -> int:
    """Nothing lost, each resource in order, every request signed; returns the duplicates
    (2xx answers beyond the first for an event)."""
    expected = {f"evt_{event.pk}": event for event in events}
    first_arrival: dict[str, float] = {}
    for request in receiver.received():
        first_arrival.setdefault(request.webhook_id, request.at)
        assert Webhook(endpoint.secret).verify(request.body, request.headers)
    acknowledged: dict[str, float] = {}
    oks: Counter[str] = Counter()
    for answer in receiver.answered_so_far():
        if 200 <= answer.status < 300:
            acknowledged.setdefault(answer.webhook_id, answer.at)
            oks[answer.webhook_id] += 1
    assert set(acknowledged) == set(expected), "events lost, or unknown ones delivered"
    by_resource: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_resource[event.resource].append(event)
    for resource, stream in by_resource.items():
        stream.sort(key=lambda event: event.sequence)
        for earlier, later in itertools.pairwise(stream):
            assert acknowledged[f"evt_{earlier.pk}"] <= first_arrival[f"evt_{later.pk}"], (
                f"{resource}: event {later.sequence} arrived before {earlier.sequence} was "
                "acknowledged"
            )
    return sum(oks.values()) - len(oks)


def test_a_receiver_down_for_two_minutes_gets_everything_in_order_once_up() -> None:
    with running_receiver() as receiver:
        endpoint = WebhookEndpointFactory(url=receiver.url("/ok"))
        receiver.down()
        events = _emit(range(1, 9), per_resource=4)
        # Waits long enough to outlast the outage: about 4 minutes before giving up.
        schedule = ",".join(["1", "2", "4", "8"] + ["15"] * 16)
        with workers(2, schedule=schedule) as running:
            down_since = time.monotonic()
            receiver.refused = 0
            wait_until(lambda: receiver.refused >= 8, "the workers tried the receiver")
            # Events committed during the outage join their resources' queues.
            events += _emit(range(5, 13), per_resource=2)
            time.sleep(max(0.0, 120 - (time.monotonic() - down_since)))
            assert receiver.received() == []
            assert all(worker.alive() for worker in running)
            tried = receiver.refused
            receiver.up()
            up_at = time.monotonic()
            _wait_delivered(endpoint, events, running, timeout=120)
            recovered = time.monotonic() - up_at
        duplicates = _check(receiver, endpoint, events)
    print(
        f"\nreceiver down 120 s: {len(events)} events, {tried} connections refused meanwhile, "
        f"all delivered {recovered:.1f} s after it came back, duplicates={duplicates}"
    )


def test_a_worker_killed_mid_batch_loses_nothing() -> None:
    with running_receiver() as receiver:
        endpoint = WebhookEndpointFactory(url=receiver.url("/slow/1000"))
        events = _emit(range(1, 31), per_resource=1)
        with workers(1, schedule="1,1,1", timeout=3, batch=10, concurrency=5) as [victim]:
            wait_until(lambda: receiver.answering >= 3, "requests in flight")
            victim.kill()
            answered = {answer.webhook_id for answer in receiver.answered_so_far()}
            in_flight = {r.webhook_id for r in receiver.received()} - answered
        assert in_flight
        # The dead worker's claims stay ``delivering`` until their lease lapses.
        assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERING).exists()
        with workers(2, schedule="1,1,1", timeout=3, batch=10, concurrency=5) as running:
            _wait_delivered(endpoint, events, running, timeout=90)
        duplicates = _check(receiver, endpoint, events)
        again = Counter(r.webhook_id for r in receiver.received())
        # Each request the killed worker had in flight was sent again, with the same id.
        assert all(again[webhook_id] >= 2 for webhook_id in in_flight), (in_flight, again)
    print(
        f"\nworker SIGKILLed with {len(in_flight)} requests in flight: {len(events)} events, "
        f"all delivered, duplicates={duplicates}"
    )


def _database_failures(running: Sequence[Background]) -> list[int]:
    """How many passes each worker has logged as failed on the database so far."""
    return [worker.output().count("the database failed") for worker in running]


def _each_failed(running: Sequence[Background], since: Sequence[int], times: int = 1) -> bool:
    """Whether every worker has logged ``times`` more failed passes than ``since``."""
    now = _database_failures(running)
    return all(count >= before + times for count, before in zip(now, since, strict=True))


def _worker_sessions() -> int:
    """Sessions on the test's database other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (count,) = cursor.fetchone()
    return int(count)


def _acknowledged(receiver: Receiver) -> set[str]:
    return {answer.webhook_id for answer in receiver.answered_so_far() if answer.status == 200}


def test_workers_resume_after_the_database_server_restarts() -> None:
    """A PostgreSQL server of the test's own (tests/support/postgres_server.py; never the
    shared one) is restarted, then stopped for a few seconds, under the workers."""
    with running_postgres() as server, running_receiver() as receiver:
        # The suite's test database (migrated) is copied, schema only; the shared server
        # is read, never restarted.
        url = server.copy_schema(database_url(connection.settings_dict), "nexus_shop_faults")
        with django_connected_to(url):  # the endpoint, the events and the checks: there too
            # 100 ms per answer: a fault finds requests in flight, answered but not recorded.
            endpoint = WebhookEndpointFactory(url=receiver.url("/slow/100"))
            events = _emit(range(1, 9), per_resource=4)
            with workers(2, schedule="1,1,1,1,1", db_url=url) as running:
                # Each worker holds one session (its requests go out from threads that
                # touch no database): both are in before the fault, so both meet it.
                wait_until(lambda: _worker_sessions() >= len(running), "the workers connected")
                wait_until(lambda: len(receiver.answered_so_far()) >= 8, "the first deliveries")

                # 1. pg_ctl restart -m fast: every session terminated (an administrator's
                # FATAL), the server back within a second; then events committed after it.
                failed = _database_failures(running)
                began = time.monotonic()
                server.restart(mode="fast")
                restart = time.monotonic() - began
                connection.close()  # this process's session was terminated too
                events += _emit(range(5, 13), per_resource=3)
                _wait_delivered(endpoint, events, running, timeout=60)
                wait_until(partial(_each_failed, running, failed), "each worker met the restart")

                # 2. pg_ctl stop -m fast right after one commit of new events (a resource's
                # third needs three answers in a row, 300 ms at least: it waits), down until
                # each worker has failed four passes in a row (backing off 0.5, 1 and 2 s:
                # about 3.5 s, every connection refused), then started again.
                with transaction.atomic():
                    waiting = _emit(range(9, 17), per_resource=3)
                events += waiting
                failed = _database_failures(running)
                server.stop(mode="fast")
                stopped = time.monotonic()
                connection.close()
                wait_until(
                    partial(_each_failed, running, failed, times=4), "each worker retried 3 times"
                )
                acknowledged = _acknowledged(receiver)
                still_waiting = [
                    event for event in waiting if f"evt_{event.pk}" not in acknowledged
                ]
                assert still_waiting, "the events meant to wait for the database were delivered"
                server.start()
                down = time.monotonic() - stopped
                started = time.monotonic()
                events += _emit(range(13, 17), per_resource=2)  # committed after the start
                _wait_delivered(endpoint, events, running, timeout=90)
                recovered = time.monotonic() - started
                assert all(worker.alive() for worker in running)
                failures = _database_failures(running)
            duplicates = _check(receiver, endpoint, events)
    print(
        f"\ndatabase server restarted ({restart:.1f} s), then down {down:.1f} s with "
        f"{len(still_waiting)} events waiting: {len(events)} events, failed passes per worker "
        f"{failures}, all delivered {recovered:.1f} s after the start, duplicates={duplicates}"
    )


def test_a_receiver_failing_30_percent_at_random_gets_everything_in_order() -> None:
    with running_receiver() as receiver:
        endpoint = WebhookEndpointFactory(url=receiver.url("/flaky/30"))
        events = _emit(range(1, 21), per_resource=8)
        # Thirteen attempts: a given-up delivery would take 0.3**13 odds.
        with workers(4, schedule="0.2,0.5" + ",1" * 11) as running:
            _wait_delivered(endpoint, events, running, timeout=120)
        duplicates = _check(receiver, endpoint, events)
        failures = sum(1 for answer in receiver.answered_so_far() if answer.status == 500)
    print(
        f"\nreceiver failing 30%: {len(events)} events, {failures} answers were 500, all "
        f"delivered, duplicates={duplicates}"
    )
