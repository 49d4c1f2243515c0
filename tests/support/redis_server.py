"""A throwaway ``redis-server`` on its own port: start, stop, pause, resume, start again.

Fault tests stop or freeze *this* server, never the shared Redis on 6379.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from tests.support import require_binary
from tests.support.ports import free_port


class RedisServer:
    def __init__(self, *extra_args: str) -> None:
        self.binary = require_binary("redis-server")
        self.port = free_port()
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart, on the same port, empty) and wait until it answers PING."""
        self.process = subprocess.Popen(  # noqa: S603  (a fixed binary and our own arguments)
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.exceptions.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections hang instead of being refused."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def raw(self) -> Any:
        """A plain redis-py client, to look at (or change) what the cache wrote."""
        return redis.Redis(port=self.port, socket_connect_timeout=0.5)


@contextmanager
def running_redis(*extra_args: str) -> Iterator[RedisServer]:
    """A started :class:`RedisServer`, stopped on exit whatever happened."""
    server = RedisServer(*extra_args)
    server.start()
    try:
        yield server
    finally:
        server.stop()
