"""The port helpers: no port handed out is one the kernel or another process can take first."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support import processes
from tests.support.ports import (
    DRAW_FROM,
    PortInUse,
    address_in_use,
    ephemeral_ports,
    free_port,
    listening_socket,
    on_free_port,
    refused_port,
)
from tests.support.postgres_server import PostgresServer
from tests.support.processes import Server
from tests.support.redis_server import RedisServer


def http_server(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port from :func:`free_port` that another socket then listens on: the race lost."""
    port = free_port()
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        yield port


def test_free_ports_are_below_the_ephemeral_range_and_free() -> None:
    ephemeral = ephemeral_ports()
    for _ in range(50):
        port = free_port()
        assert port in DRAW_FROM
        assert port not in ephemeral
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_listening_socket_keeps_its_port_until_closed() -> None:
    with listening_socket() as listener:
        port = listener.getsockname()[1]
        with socket.socket() as other, pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", port))
        socket.create_connection(("127.0.0.1", port), 1).close()


def test_a_refused_port_refuses_and_cannot_be_taken() -> None:
    with refused_port() as port:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), 1)
        with socket.socket() as other, pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", port))


def test_the_servers_say_so_when_their_port_was_taken() -> None:
    for output in (
        "Could not create server TCP listening socket 127.0.0.1:6390: bind: "
        "Address already in use",  # redis-server
        "Error: Could not get socket 127.0.0.1:6081: Address already in use",  # varnishd
        "Error: That port is already in use.",  # Django's runserver
        "[Errno 98] error while attempting to bind on address: address already in use",
        'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use',  # postgres
    ):
        assert address_in_use(output)
    assert not address_in_use("Listening on 127.0.0.1:8000")


def test_a_server_that_lost_its_port_is_started_again_on_another(busy_port: int) -> None:
    with pytest.raises(PortInUse), processes.serve(http_server(busy_port), port=busy_port):
        pass
    drawn = iter([busy_port, free_port()])
    tried: list[int] = []
    with ExitStack() as stack:

        def start(port: int) -> Server:
            tried.append(port)
            return stack.enter_context(processes.serve(http_server(port), port=port))

        server = on_free_port(start, draw=lambda: next(drawn))
        assert tried == [busy_port, server.port]
        assert server.port != busy_port
        assert server.process.poll() is None


def test_a_port_taken_every_time_fails_after_a_few_attempts(busy_port: int) -> None:
    tried: list[int] = []

    def start(port: int) -> None:
        tried.append(port)
        raise PortInUse(str(port))

    with pytest.raises(PortInUse):
        on_free_port(start, draw=lambda: busy_port)
    assert len(tried) > 1


def test_redis_server_says_when_its_port_was_taken(busy_port: int) -> None:
    server = RedisServer(port=busy_port)
    with pytest.raises(PortInUse):
        server.start()
    assert server.process is None


def test_postgres_server_says_when_its_port_was_taken(busy_port: int) -> None:
    server = PostgresServer(port=busy_port)
    try:
        with pytest.raises(PortInUse):
            server.start()
        assert not server.running
    finally:
        server.cleanup()
    assert not server.root.exists()
