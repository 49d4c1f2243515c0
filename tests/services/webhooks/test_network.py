"""The transport: SSRF refusals at every attempt (rebinding included), the checked address
pinned, TLS checked for the URL's name, and receivers that try to hold a worker.

Name resolution is faked at its boundary, ``socket.getaddrinfo`` (the ``resolve_as``
fixture); every connection is real, to the local receiver.
"""

from __future__ import annotations

import socket
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from nexus_shop.models.events import DeliveryStatus, WebhookAttempt, WebhookDelivery
from nexus_shop.services.webhooks import network, transport
from tests.factories import WebhookEndpointFactory, emit_event
from tests.services.webhooks.conftest import Resolver
from tests.support import wait_until
from tests.support.tls import make_certificates
from tests.support.webhook_receiver import Receiver, running_receiver
from tests.support.webhooks import deliver_due

pytestmark = pytest.mark.django_db

ResolveAs = Callable[[dict[str, Resolver]], list[str]]


def _answers(*rounds: str) -> Resolver:
    """A resolver answering ``rounds[0]`` first, then ``rounds[1]``..., then the last."""
    seen: list[str] = []

    def answer(host: str) -> list[str]:
        seen.append(host)
        return [rounds[min(len(seen), len(rounds)) - 1]]

    return answer


def _attempt() -> WebhookAttempt:
    [attempt] = WebhookAttempt.objects.all()
    return attempt


# SSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://10.0.0.1/hook", "a private address"),
        ("http://192.168.1.20/hook", "a private address"),
        ("http://127.0.0.2/hook", "a loopback address"),  # only 127.0.0.1/32 is allowed
    ],
)
def test_a_refused_address_is_never_connected_to(url: str, why: str) -> None:
    # Saved before the guard existed, or written to the table directly: refused at delivery.
    WebhookEndpointFactory(url=url)
    emit_event()
    [result] = deliver_due()
    assert result.status_code is None
    assert why in _attempt().error
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING  # retried


@pytest.mark.parametrize(
    ("rebound", "why"), [("127.0.0.2", "a loopback address"), ("10.20.30.40", "a private address")]
)
def test_dns_rebinding_is_refused_at_delivery(
    resolve_as: ResolveAs, receiver: Receiver, rebound: str, why: str
) -> None:
    # Public when the endpoint is saved, private when the worker resolves it.
    asked = resolve_as({"hooks.rebind.test": _answers("93.184.216.34", rebound)})
    url = f"http://hooks.rebind.test:{receiver.port}/ok"
    network.check_url(url)  # what saving the endpoint does: accepted
    WebhookEndpointFactory(url=url)
    emit_event()
    [result] = deliver_due()
    assert asked == ["hooks.rebind.test", "hooks.rebind.test"]
    assert result.outcome == "retrying"
    assert f"{why} ({rebound})" in _attempt().error
    assert receiver.received() == []


def test_the_checked_address_is_the_one_connected_to(
    resolve_as: ResolveAs, receiver: Receiver
) -> None:
    # A second resolution inside the attempt would get an unreachable private address.
    asked = resolve_as({"receiver.test": _answers("127.0.0.1", "10.9.9.9")})
    endpoint = WebhookEndpointFactory(url=receiver.url("/ok", host="receiver.test"))
    emit_event()
    [result] = deliver_due()
    assert result.outcome == "succeeded"
    assert asked == ["receiver.test"]  # resolved once, and that answer used
    [request] = receiver.received()
    assert request.headers["host"] == f"receiver.test:{receiver.port}"
    assert Webhook(endpoint.secret).verify(request.body, request.headers)


def test_each_attempt_resolves_again(resolve_as: ResolveAs, receiver: Receiver) -> None:
    asked = resolve_as({"receiver.test": _answers("127.0.0.1")})
    WebhookEndpointFactory(url=receiver.url("/status/503", host="receiver.test"))
    emit_event()
    deliver_due()
    WebhookDelivery.objects.update(next_attempt_at=WebhookDelivery.objects.get().created_at)
    deliver_due()
    assert asked == ["receiver.test", "receiver.test"]


# TLS ------------------------------------------------------------------------------------


@pytest.fixture
def tls_receiver(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch, resolve_as: ResolveAs
) -> Iterator[Callable[[str], Receiver]]:
    """``tls_receiver(name)``: an HTTPS receiver whose certificate is for ``name``, reached
    as ``receiver.test`` (resolved to 127.0.0.1); the worker trusts the test CA only."""
    settings.NEXUS_SHOP_WEBHOOK_ALLOW_HTTP = False
    resolve_as({"receiver.test": _answers("127.0.0.1")})
    receivers: list[Receiver] = []

    def start(name: str) -> Receiver:
        certificates = make_certificates(tmp_path, name)
        monkeypatch.setattr(transport, "tls_context", certificates.client_context)
        receiver = Receiver(tls=certificates.server_context())
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


def test_https_sends_the_name_for_sni_and_checks_the_certificate(
    tls_receiver: Callable[[str], Receiver],
) -> None:
    receiver = tls_receiver("receiver.test")
    endpoint = WebhookEndpointFactory(url=receiver.url("/ok", host="receiver.test"))
    emit_event()
    [result] = deliver_due()
    assert result.outcome == "succeeded", result.error
    assert receiver.server_names == ["receiver.test"]
    [request] = receiver.received()
    assert request.headers["host"] == f"receiver.test:{receiver.port}"
    assert Webhook(endpoint.secret).verify(request.body, request.headers)


def test_a_certificate_for_another_name_is_refused(tls_receiver: Callable[[str], Receiver]) -> None:
    receiver = tls_receiver("elsewhere.test")
    WebhookEndpointFactory(url=receiver.url("/ok", host="receiver.test"))
    emit_event()
    [result] = deliver_due()
    assert result.outcome == "retrying"
    assert "TLS failed" in result.error
    assert "certificate" in result.error.lower()
    assert receiver.received() == []


# Hostile receivers -----------------------------------------------------------------------


@pytest.fixture
def short_deadline(settings: Any) -> float:
    settings.NEXUS_SHOP_WEBHOOK_TIMEOUT = 1.0
    return 1.0


# Finishing "within the deadline": the deadline plus what a busy machine adds to the cleanup.
SLACK = 3.0


@pytest.mark.parametrize("path", ["/never", "/drip"])
def test_a_receiver_that_never_finishes_answering_times_out(
    receiver: Receiver, short_deadline: float, path: str
) -> None:
    WebhookEndpointFactory(url=receiver.url(path))
    emit_event()
    started = time.monotonic()
    [result] = deliver_due()
    assert time.monotonic() - started < short_deadline + SLACK
    assert result.outcome == "retrying"
    assert result.status_code is None
    assert "timed out after 1 s" in result.error
    assert result.latency_ms < (short_deadline + SLACK) * 1000


def test_a_body_dripped_after_the_status_is_cut_at_the_deadline(
    receiver: Receiver, short_deadline: float
) -> None:
    WebhookEndpointFactory(url=receiver.url("/drip-body"))
    emit_event()
    started = time.monotonic()
    [result] = deliver_due()
    assert time.monotonic() - started < short_deadline + SLACK
    # The status line said 200: delivered; what came of the body is logged.
    assert (result.outcome, result.status_code) == ("succeeded", 200)
    assert set(result.response_body) <= {"y"}


def test_a_1_gb_body_is_read_for_1_kib_only(receiver: Receiver) -> None:
    WebhookEndpointFactory(url=receiver.url("/huge"))
    emit_event()
    tracemalloc.start()
    try:
        started = time.monotonic()
        [result] = deliver_due()
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0 + SLACK
    assert (result.outcome, result.status_code) == ("succeeded", 200)
    assert len(_attempt().response_body) == transport.MAX_BODY
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"  # the receiver's 64 KiB chunks included
    wait_until(lambda: receiver.huge_bytes_sent > 0, "the receiver noticed the worker leave")
    assert receiver.huge_bytes_sent < 1024**3 // 10


def test_a_connection_that_is_never_accepted_is_bounded_by_the_connect_timeout() -> None:
    # A listener whose backlog is full: the kernel drops further SYNs, so connect() hangs.
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # fills the backlog
            started = time.monotonic()
            with pytest.raises(transport.TransportError, match=r"connect timed out after 0\.5 s"):
                transport.post(
                    f"http://127.0.0.1:{port}/",
                    headers={},
                    body=b"{}",
                    connect_timeout=0.5,
                    timeout=5.0,
                )
            assert time.monotonic() - started < 0.5 + SLACK


def test_the_deadline_watchdog_serves_many_attempts_at_once(receiver: Receiver) -> None:
    # Guards are kept in one heap by one thread; a cancelled one must not cut a later socket.
    for _ in range(20):
        answer = transport.post(
            receiver.url("/ok"), headers={}, body=b"{}", connect_timeout=1.0, timeout=0.5
        )
        assert answer.status == 200
    time.sleep(0.6)  # the first guards' deadlines pass while later sockets are open
    with running_receiver() as other:
        answer = transport.post(
            other.url("/slow/200"), headers={}, body=b"{}", connect_timeout=1.0, timeout=5.0
        )
    assert answer.status == 200
