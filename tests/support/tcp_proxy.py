"""A TCP proxy to cut a live connection for real: ``stop()`` is a network partition.

Fault tests point a server at the proxy instead of the real database. ``stop()`` cuts every
connection through it (both ends see a reset or an EOF, as after a database restart), and
until ``start()`` each new connection is reset as soon as it arrives, and counted
(``refused``): a test waits for the server to have tried, instead of for a fixed time.
Nothing is mocked: the driver sees real socket errors.

The proxy listens on one :func:`~tests.support.ports.listening_socket` from start to end,
so its port is never free for another process to take during an outage.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support import wait_until
from tests.support.ports import listening_socket


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = listening_socket()
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._up = False
        self._sockets: set[socket.socket] = set()
        self.connections = 0  # forwarded so far, over every start()
        self.refused = 0  # reset while stopped, over every stop()
        threading.Thread(target=self._accept, daemon=True).start()

    def start(self) -> None:
        """Forward new connections (again)."""
        with self._lock:
            self._up = True

    def stop(self) -> None:
        """Cut every open connection, and refuse new ones until :meth:`start`."""
        with self._lock:
            self._up = False
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.stop()
        self._listener.close()

    def wait_for_refused(self, count: int, *, timeout: float = 60) -> None:
        """Block until ``count`` connections in all have been refused (someone tried)."""
        wait_until(lambda: self.refused >= count, f"{count} refused connections", timeout=timeout)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # close()
                return
            with self._lock:
                up = self._up
                if not up:
                    self.refused += 1
            if not up:
                # SO_LINGER 0: close() sends a reset, as a host with nothing listening does.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self._up:  # stopped meanwhile
                    client.close()
                    server.close()
                    continue
                self._sockets |= {client, server}
                self.connections += 1
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def running_proxy(upstream_host: str, upstream_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream_host, upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
