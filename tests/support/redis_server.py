"""A throwaway ``redis-server`` on its own port: start, stop, pause, resume, start again.

Fault tests stop or freeze *this* server, never the shared Redis on 6379.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from tests.support import require_binary
from tests.support.ports import PortInUse, address_in_use, listens, on_free_port


class RedisServer:
    def __init__(self, *extra_args: str, port: int | None = None) -> None:
        self.binary = require_binary("redis-server")
        self._port = port  # drawn by the first start() unless given
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        assert self._port is not None, "start() first"
        return self._port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart, on the same port, empty) and wait until it answers PING.

        The first start draws a :func:`~tests.support.ports.free_port`, and another one if
        that port was taken meanwhile; a restart keeps its port.
        """
        if self._port is None:
            on_free_port(self._start_on)
        else:
            self._start_on(self._port)

    def _start_on(self, port: int) -> None:
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(  # noqa: S603  (a fixed binary and our own arguments)
                [
                    self.binary,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while not listens(process.pid, port):  # not just anything on the port
                if process.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    if address_in_use(output):
                        raise PortInUse(f"port {port} was taken: {output}")
                    raise AssertionError(f"redis-server exited at start: {output}")
                if time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    raise AssertionError(f"redis-server did not listen on {port} in 10 s")
                time.sleep(0.02)
            client = redis.Redis(port=port, socket_connect_timeout=1)
            try:
                assert client.ping()
            finally:
                client.close()
        self._port, self.process = port, process

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
