"""A local webhook receiver: a threaded HTTP server on 127.0.0.1 that records every request.

What it answers is chosen by the path, so one receiver serves every endpoint of a test:

| path | answer |
|---|---|
| ``/ok`` | 200 |
| ``/status/<code>`` | ``<code>``; ``?retry_after=<value>``, ``?location=<url>``: those headers |
| ``/slow/<ms>`` | 200 after ``<ms>`` milliseconds |
| ``/flaky/<percent>`` | 500 for ``<percent>`` % of requests, at random, else 200 |
| ``/never`` | reads the request and never answers (until the receiver stops) |
| ``/drip`` | the whole answer, status line included, one byte a second |
| ``/drip-body`` | status and headers at once, then the body one byte a second |
| ``/huge`` | 200 with a 1 GB body, written lazily (64 KiB at a time) until the client leaves |
| ``/redirect-metadata`` | 302 to the cloud metadata address |

``down()`` makes it reset every connection before reading it (a receiver that is down: the
worker sees a network error), ``up()`` serves again; the port stays held throughout.
``tls`` (an ``ssl.SSLContext``) serves HTTPS; ``server_names`` then records each
connection's SNI.

Each request is recorded when it arrives (``requests``), before the answer, so a test sees
what a worker sent even when the worker dies before the answer comes; each answer once
written (``answers``, with the ``webhook-id`` it answered), so a test can tell when an event
was acknowledged.
"""

from __future__ import annotations

import contextlib
import random
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.ports import listening_socket

METADATA_URL = "http://169.254.169.254/latest/meta-data/"
HUGE = 1024**3
CHUNK = bytes(64 * 1024)


@dataclass(frozen=True)
class Answer:
    webhook_id: str
    status: int
    at: float  # time.monotonic() once written to the socket


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() when it arrived

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that left before the answer (a killed worker, a deadline): expected here.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.receiver.is_down:
            # SO_LINGER 0: close() sends a reset, as a host with nothing listening does.
            with contextlib.suppress(OSError):
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.receiver.refused += 1
            return False
        return True


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        split = urlsplit(self.path)
        receiver.record(
            Request(
                path=split.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                at=time.monotonic(),
            )
        )
        with receiver.in_flight():
            self._answer(split.path.strip("/").split("/"), parse_qs(split.query))

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)
        self.server.receiver.answered(self.headers.get("webhook-id", ""), status)

    def _answer(self, parts: list[str], query: dict[str, list[str]]) -> None:
        answer = getattr(self, "_answer_" + parts[0].replace("-", "_"), None)
        if answer is None:
            self._send(404, b"no such behaviour")
        else:
            answer(parts[1:], query)

    def _answer_ok(self, parts: list[str], query: dict[str, list[str]]) -> None:
        self._send(200, b"ok")

    def _answer_status(self, parts: list[str], query: dict[str, list[str]]) -> None:
        headers = {}
        if "retry_after" in query:
            headers["Retry-After"] = query["retry_after"][0]
        if "location" in query:
            headers["Location"] = query["location"][0]
        self._send(int(parts[0]), f"status {parts[0]}".encode(), **headers)

    def _answer_slow(self, parts: list[str], query: dict[str, list[str]]) -> None:
        self.server.receiver.closing.wait(int(parts[0]) / 1000)
        self._send(200, b"slow ok")

    def _answer_flaky(self, parts: list[str], query: dict[str, list[str]]) -> None:
        if random.random() * 100 < int(parts[0]):
            self._send(500, b"flaky failure")
        else:
            self._send(200, b"flaky ok")

    def _answer_never(self, parts: list[str], query: dict[str, list[str]]) -> None:
        self.server.receiver.closing.wait(600)

    def _answer_drip(self, parts: list[str], query: dict[str, list[str]]) -> None:
        self._drip(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n" + b"x" * 20)

    def _answer_drip_body(self, parts: list[str], query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.flush()
        self._drip(b"y" * 100)

    def _answer_huge(self, parts: list[str], query: dict[str, list[str]]) -> None:
        receiver = self.server.receiver
        self.send_response(200)
        self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        sent = 0
        with contextlib.suppress(OSError):
            while sent < HUGE and not receiver.closing.is_set():
                self.wfile.write(CHUNK)
                sent += len(CHUNK)
        receiver.huge_bytes_sent = sent

    def _answer_redirect_metadata(self, parts: list[str], query: dict[str, list[str]]) -> None:
        self._send(302, b"moved", Location=METADATA_URL)

    def _drip(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            for byte in data:
                if self.server.receiver.closing.wait(1.0):
                    return
                self.connection.sendall(bytes([byte]))


class Receiver:
    """The receiver, serving from a thread of the test's process (see the module docstring)."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self.answers: list[Answer] = []
        self.closing = threading.Event()
        self.is_down = False
        self.refused = 0
        self.huge_bytes_sent = 0
        self.server_names: list[str | None] = []
        self._in_flight = 0
        listener = listening_socket()
        self.port: int = listener.getsockname()[1]
        if tls is not None:
            tls.sni_callback = self._note_server_name
            listener = tls.wrap_socket(listener, server_side=True, do_handshake_on_connect=True)
        self.scheme = "http" if tls is None else "https"
        self._server = _Server(("127.0.0.1", self.port), _Handler, bind_and_activate=False)
        self._server.socket.close()
        self._server.socket = listener
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _note_server_name(self, sock: Any, server_name: str | None, context: Any) -> None:
        self.server_names.append(server_name)

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def answered(self, webhook_id: str, status: int) -> None:
        with self._lock:
            self.answers.append(Answer(webhook_id, status, time.monotonic()))

    def answered_so_far(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    @property
    def answering(self) -> int:
        """Requests received and not answered yet."""
        with self._lock:
            return self._in_flight

    def received(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def running_receiver(*, tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver = Receiver(tls=tls)
    try:
        yield receiver
    finally:
        receiver.close()
