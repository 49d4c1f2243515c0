"""Fixtures of the delivery tests: the settings that let a worker reach the local receiver
(the ``receiver`` fixture, tests/conftest.py) and a short deadline, and a resolver to fake."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

SCHEDULE = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30))


@pytest.fixture(autouse=True)
def reachable_receiver(settings: Any) -> None:
    settings.NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.NEXUS_SHOP_WEBHOOK_ALLOW_HTTP = True
    settings.NEXUS_SHOP_WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    settings.NEXUS_SHOP_WEBHOOK_TIMEOUT = 2.0
    settings.NEXUS_SHOP_WEBHOOK_CONNECT_TIMEOUT = 1.0


Resolver = Callable[[str], list[str]]


@pytest.fixture
def resolve_as(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Resolver]], list[str]]:
    """``resolve_as({"hooks.test": answers})``: what ``socket.getaddrinfo`` answers for a
    host name (``answers(host)`` gives the addresses, called once per resolution); every
    other name, and IP literals, resolve as usual. Returns the names looked up, in order.

    The resolver is the boundary a DNS rebinding attack plays on: patching it is how the
    tests make a name change its answer between two resolutions."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def install(names: dict[str, Resolver]) -> list[str]:
        def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(host, bytes):
                host = host.decode()
            if host in names:
                asked.append(host)
                return [
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                    for address in names[host](host)
                ]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        return asked

    return install
