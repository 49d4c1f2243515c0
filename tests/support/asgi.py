"""One HTTP request sent to an ASGI application in-process, as a server would send it.

The example-project probes (tests/test_example_errors.py, tests/test_example_settings.py)
run in a subprocess from the repository root and import this, so that the
``ApplicationCommunicator`` exchange is written once. It imports only asgiref.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgiref.testing import ApplicationCommunicator

# asgiref.testing has no annotations: mypy strict refuses its calls unless typed as Any.
_Communicator: Any = ApplicationCommunicator


async def asgi_request(
    app: Any,
    method: str,
    path: str,
    *,
    host: str = "localhost",
    headers: Iterable[tuple[bytes, bytes]] = (),
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """Send one request to ``app``: its status, headers (lower-cased names) and body."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host.encode()), *headers],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("localhost", 8000),
        "client": ("127.0.0.1", 5000),
        "asgi": {"version": "3.0"},
    }
    communicator = _Communicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": body})
    start = await communicator.receive_output(10)
    received = b""
    while True:
        message = await communicator.receive_output(10)
        received += message.get("body", b"")
        if not message.get("more_body"):
            break
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, received
