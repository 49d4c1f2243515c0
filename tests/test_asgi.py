"""The ASGI upload limit, driven in-process with a fake ``receive`` (no server)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.asgi import get_asgi_application

from nexus_shop.asgi import UploadLimitASGI
from nexus_shop.limits import MULTIPART_ALLOWANCE
from tests.routers.test_images import Unreadable, url

LIMIT = 100_000
BOUND = LIMIT + MULTIPART_ALLOWANCE
CHUNK = 16 * 1024
UPLOAD = "/api/products/7/images"


@pytest.fixture(autouse=True)
def small_limit(settings: Any) -> None:
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = LIMIT


@dataclass
class Client:
    """A fake server: ``receive`` hands out ``chunks`` and counts the bytes it handed out."""

    chunks: Iterator[bytes]
    consumed: int = 0
    receives: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def receive(self) -> dict[str, Any]:
        self.receives += 1
        chunk = next(self.chunks, None)
        if chunk is None:  # the body is over: wait for a disconnect that never comes
            await asyncio.Event().wait()
        assert chunk is not None
        self.consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def body_of(size: int) -> Iterator[bytes]:
    """``size`` bytes in CHUNK pieces."""
    sent = 0
    while sent < size:
        piece = min(CHUNK, size - sent)
        sent += piece
        yield b"x" * piece


def endless() -> Iterator[bytes]:
    while True:
        yield b"x" * CHUNK


def scope(path: str = UPLOAD, method: str = "POST", **headers: str) -> dict[str, Any]:
    raw = [(b"host", b"testserver"), (b"content-type", b"multipart/form-data; boundary=b")]
    raw += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


class Echo:
    """An application that reads the whole body and answers 200 with what it saw."""

    def __init__(self) -> None:
        self.scopes: list[Any] = []
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


class LastMessage:
    """Marks the last chunk's message ``more_body: False``, as a server does."""

    def __init__(self, client: Client, count: int) -> None:
        self.client, self.count = client, count

    async def __call__(self) -> dict[str, Any]:
        message = await self.client.receive()
        message["more_body"] = self.client.receives < self.count
        return message


def run(app: Any, scope: dict[str, Any], client: Client, receive: Any = None) -> None:
    asyncio.run(app(scope, receive or client.receive, client.send))


def assert_413(client: Client) -> dict[str, Any]:
    assert client.status == 413
    headers = dict(client.sent[0]["headers"])
    assert headers[b"content-type"] == b"application/json; charset=utf-8"
    assert headers[b"connection"] == b"close"
    body: dict[str, Any] = json.loads(client.body)
    assert body["max_bytes"] == LIMIT
    assert body["errors"] == [{"loc": ["body", "file"], "msg": body["detail"], "type": "too_large"}]
    return body


@pytest.mark.parametrize("inner", ["echo", "django"])
def test_a_chunked_body_is_cut_off_at_the_limit(inner: str) -> None:
    """Read to the bound and at most one message past it, then a 413; never the rest."""
    app: Any = Echo() if inner == "echo" else get_asgi_application()
    client = Client(endless())

    run(UploadLimitASGI(app), scope(transfer_encoding="chunked"), client)

    assert_413(client)
    assert BOUND < client.consumed <= BOUND + CHUNK
    assert len(client.sent) == 2  # the 413 alone: the application's answer never goes out
    if isinstance(app, Echo):
        assert app.received[-1] == {"type": "http.disconnect"}


def test_the_413_is_the_apis_own(staff_client: Any) -> None:
    """The same body as the view's 413 (routers/uploads.py), so clients see one shape."""
    client = Client(endless())
    run(UploadLimitASGI(Echo()), scope(), client)
    from_view = staff_client.generic(
        "POST",
        url(1),
        CONTENT_TYPE="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(BOUND + 1),
        **{"wsgi.input": Unreadable()},
    )

    assert_413(client)
    assert json.loads(client.body) == from_view.json()


def test_a_content_length_over_the_limit_is_refused_before_any_receive() -> None:
    app = Echo()
    client = Client(endless())

    run(UploadLimitASGI(app), scope(content_length=str(BOUND + 1)), client)

    assert_413(client)
    assert client.receives == 0
    assert app.scopes == []  # the application never saw it


def test_a_body_within_the_limit_passes_through_unchanged() -> None:
    app = Echo()
    sizes = list(body_of(BOUND))  # exactly the bound: allowed
    client = Client(iter(sizes))
    request = scope(content_length=str(BOUND))

    run(UploadLimitASGI(app), request, client, LastMessage(client, len(sizes)))

    assert client.status == 200
    assert client.body == b"ok"
    assert app.scopes == [request]
    assert b"".join(m["body"] for m in app.received) == b"x" * BOUND
    assert client.consumed == BOUND


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/products"),
        ("GET", UPLOAD),
        ("PATCH", f"{UPLOAD}/3"),
        ("POST", "/elsewhere/products/7/images"),  # not the API's upload
        ("POST", "/api/products/not-a-number/images"),
    ],
)
def test_other_requests_are_untouched(method: str, path: str) -> None:
    """No counting, no limit: the application gets the server's own ``receive`` and ``send``."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope=scope, receive=receive, send=send)

    client = Client(endless())
    request = scope(path, method, content_length=str(BOUND * 10))

    run(UploadLimitASGI(app), request, client)

    assert seen["scope"] is request
    assert seen["receive"] == client.receive
    assert seen["send"] == client.send


def test_the_route_follows_the_root_path() -> None:
    """Behind a proxy prefix (``root_path``), the upload is still recognised."""
    client = Client(endless())
    request = scope(f"/shop{UPLOAD}", content_length=str(BOUND + 1)) | {"root_path": "/shop"}

    run(UploadLimitASGI(Echo()), request, client)

    assert_413(client)


def test_an_unmounted_api_limits_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app = Echo()
    client = Client(body_of(CHUNK))

    run(
        UploadLimitASGI(app, url_name="nexus_shop:no-such-operation"),
        scope(),
        client,
        LastMessage(client, 1),
    )

    assert client.status == 200
    assert "limits nothing" in caplog.text
