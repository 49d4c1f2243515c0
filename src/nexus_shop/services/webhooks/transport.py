"""One webhook POST: to the checked address, bounded in time and in what it reads.

:func:`post` resolves and checks the URL (:func:`~nexus_shop.services.webhooks.network.resolve`,
at every attempt, so DNS rebinding is caught), opens a TCP connection to that very address
(never to the host name, which a second DNS answer could point elsewhere), and speaks TLS
with the URL's host name for SNI and the certificate check, and as the ``Host`` header. It
sends the request, reads the status line, the headers and at most :data:`MAX_BODY` bytes of
the body, and closes. Redirects are answers like any other: nothing here follows them.

Why the standard library's ``http.client`` and not requests, urllib3 or httpx: none of
them takes "connect to this address, but verify the certificate for that name" as an
ordinary option, and their timeouts bound each socket operation, not the whole attempt,
so a receiver that drips one byte a second holds them forever. Here a :class:`_Watchdog`
thread shuts the socket down at the attempt's deadline (``NEXUS_SHOP_WEBHOOK_TIMEOUT``),
whatever the receiver does: the blocked read returns, and the attempt is a timeout.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import http.client
import itertools
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from nexus_shop.services.webhooks import network

MAX_BODY = 1024
"""Bytes of an answer's body read (and logged); the rest is never read."""


class TransportError(Exception):
    """No HTTP answer: the address was refused, the connection failed, or time ran out."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most MAX_BODY bytes
    retry_after: str | None
    location: str | None  # a redirect's target, logged (never followed)
    truncated: bool  # the body was cut at the deadline or at MAX_BODY


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings of every delivery: the system's CAs, certificates and host names
    checked (tests trust their own CA by replacing this function)."""
    return ssl.create_default_context()


class _Guard:
    """One armed deadline: at ``deadline``, the socket is shut down unless cancelled."""

    __slots__ = ("_done", "_lock", "_sock", "deadline", "fired")

    def __init__(self, deadline: float, sock: socket.socket) -> None:
        self.deadline = deadline
        self.fired = False
        self._lock = threading.Lock()
        self._sock = sock
        self._done = False

    def fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = self.fired = True
            with contextlib.suppress(OSError):
                # Shuts the connection itself down, whichever descriptor reads it (the TLS
                # socket holds another one): the blocked recv() returns at once.
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        """Disarm; afterwards the socket is the caller's to close."""
        with self._lock:
            self._done = True


class _Watchdog:
    """One thread per process that fires each :class:`_Guard` at its deadline.

    A timer thread per attempt would cost a thread start per delivery (hundreds a second);
    this keeps the deadlines in a heap and sleeps until the next one.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, sock: socket.socket) -> _Guard:
        guard = _Guard(deadline, sock)
        with self._condition:
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork
                self._thread = threading.Thread(
                    target=self._run, name="nexus-shop-webhook-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline, next(self._order), guard))
            if self._heap[0][2] is guard:
                self._condition.notify()
        return guard

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap:
                    self._condition.wait()
                deadline, _, guard = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._heap)
            guard.fire()


_watchdog = _Watchdog()


class _Connection(http.client.HTTPConnection):
    """An ``HTTPConnection`` over a socket opened beforehand (to the checked address)."""

    def __init__(self, sock: socket.socket, target: network.Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        # The Host header leaves the port out when it is the scheme's default.
        self.default_port = 443 if target.scheme == "https" else 80
        self.sock = sock

    def connect(self) -> None:  # pragma: no cover  (the socket is given; never reconnects)
        raise http.client.HTTPException("the connection was closed")


def _read_body(response: http.client.HTTPResponse) -> tuple[bytes, bool]:
    """At most MAX_BODY bytes, and whether more was there (or the read was cut)."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < MAX_BODY:
            chunk = response.read1(MAX_BODY - size)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, http.client.HTTPException):
        return b"".join(chunks), True
    return b"".join(chunks), not response.isclosed()


def post(
    url: str, *, headers: dict[str, str], body: bytes, connect_timeout: float, timeout: float
) -> Answer:
    """POST ``body`` to ``url``; the answer's status, headers and first KiB of its body.

    Raises :class:`TransportError` when there is no answer: the URL refused
    (:class:`~nexus_shop.services.webhooks.network.UnsafeAddress`, its message kept), a
    connection or TLS error, or ``timeout`` seconds spent, counted from the start,
    resolution included. A body cut at the deadline after the status line arrived is
    still an answer (``truncated``).
    """
    deadline = time.monotonic() + timeout
    try:
        target = network.resolve(url)
    except network.UnsafeAddress as error:
        raise TransportError(error.message) from None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TransportError(f"timed out after {timeout:g} s (resolving the host)")
    try:
        raw = socket.create_connection(
            (str(target.address), target.port), timeout=min(connect_timeout, remaining)
        )
    except TimeoutError:
        raise TransportError(f"connect timed out after {connect_timeout:g} s") from None
    except OSError as error:
        raise TransportError(f"connection failed: {error}") from None
    # The guard holds a second descriptor of the connection: shutting it down at the
    # deadline cuts the TLS socket too, which takes over (and detaches) ``raw``.
    watched = raw.dup()
    guard = _watchdog.arm(deadline, watched)
    sock: socket.socket = raw
    try:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        if target.scheme == "https":
            sock = tls_context().wrap_socket(raw, server_hostname=target.host)
        connection = _Connection(sock, target, timeout)
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        data, truncated = _read_body(response)
        return Answer(
            status=response.status,
            body=data,
            retry_after=response.getheader("Retry-After"),
            location=response.getheader("Location"),
            truncated=truncated or guard.fired,
        )
    except (OSError, http.client.HTTPException, ValueError) as error:
        if guard.fired or isinstance(error, TimeoutError):
            raise TransportError(f"timed out after {timeout:g} s") from None
        if isinstance(error, ssl.SSLError | ssl.CertificateError):
            raise TransportError(f"TLS failed: {error}") from None
        raise TransportError(f"{type(error).__name__}: {error}") from None
    finally:
        guard.cancel()
        watched.close()
        with contextlib.suppress(OSError):
            sock.close()
        with contextlib.suppress(OSError):
            raw.close()
