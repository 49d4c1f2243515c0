"""The ASGI entry point, driven in-process around Django's real ASGI application."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.test import override_settings

from nexus_shop.http_cache import ResponseCacheASGI
from nexus_shop.http_cache.engine import EXCHANGE_HEADERS, get_engine
from nexus_shop.http_cache.headers import kept_on_304
from nexus_shop.http_cache.store import Snapshot
from tests.conftest import bearer
from tests.factories import CategoryFactory, ProductFactory

# Django runs the views on its own thread (and connection): the test data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

SECURITY_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class CountingApp:
    """Django's ASGI application, counting the requests that reach it."""

    def __init__(self) -> None:
        self.django = get_asgi_application()
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.django(scope, receive, send)


@dataclass
class Driver:
    """One event loop for the whole test, as a server has (the asyncio Redis pool lives on it)."""

    loop: asyncio.AbstractEventLoop
    inner: CountingApp
    app: ResponseCacheASGI

    def call(
        self,
        path: str,
        query: str = "",
        *,
        host: str = "testserver",
        method: str = "GET",
        **headers: str,
    ) -> Answer:
        return self.loop.run_until_complete(
            _call(self.app, path, query, host, headers, method=method)
        )


@pytest.fixture
def asgi() -> Iterator[Driver]:
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default", MIDDLEWARE=SECURITY_MIDDLEWARE):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        loop = asyncio.new_event_loop()
        inner = CountingApp()
        try:
            yield Driver(loop, inner, ResponseCacheASGI(inner))
        finally:
            loop.run_until_complete(engine.store.aclose())
            loop.close()


async def _call(
    app: Any, path: str, query: str, host: str, headers: dict[str, str], *, method: str = "GET"
) -> Answer:
    raw_headers = [(b"host", host.encode())]
    raw_headers += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = []
    received: list[bool] = []

    async def receive() -> dict[str, Any]:
        if received:  # Django listens for a disconnect that never comes
            await asyncio.Event().wait()
        received.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    return Answer(
        status=start["status"],
        headers={k.decode().lower(): v.decode() for k, v in start["headers"]},
        body=b"".join(m.get("body", b"") for m in messages[1:]),
    )


def test_a_hit_is_answered_before_django_with_no_sql(asgi: Driver) -> None:
    category = CategoryFactory()
    product = ProductFactory(category=category)
    for path in ("/api/products", f"/api/products/{product.pk}", "/api/categories"):
        miss = asgi.call(path)
        assert miss.status == 200
        assert miss.headers["x-response-cache"] == "miss"
        before = asgi.inner.calls
        hit = asgi.call(path)
        assert asgi.inner.calls == before  # Django never saw it: no middleware, no SQL
        assert hit.headers["x-response-cache"] == "hit"
        assert hit.body == miss.body
        assert hit.headers["etag"] == miss.headers["etag"]
        assert int(hit.headers["content-length"]) == len(hit.body)
        # What Django's middleware added to the miss is replayed on the hit.
        for name in ("x-content-type-options", "referrer-policy", "x-frame-options"):
            assert hit.headers[name] == miss.headers[name]
        assert hit.headers["cache-control"] == "public, max-age=0, must-revalidate"


def test_head_is_the_get_without_its_body_on_a_miss_and_on_a_hit(asgi: Driver) -> None:
    # RFC 9110 9.3.2. Django's ASGI handler sends whatever body the view gives, so the
    # API's own HEAD handling (nexus_shop.api) must leave none; the wrapper replays the hit.
    product = ProductFactory()
    path = f"/api/products/{product.pk}"
    head_miss = asgi.call(path, method="HEAD")  # a HEAD never fills the entry
    assert head_miss.status == 200
    assert head_miss.body == b""
    assert head_miss.headers["x-response-cache"] == "miss"
    get = asgi.call(path)
    assert get.headers["x-response-cache"] == "miss"
    assert int(head_miss.headers["content-length"]) == len(get.body)
    before = asgi.inner.calls
    head_hit = asgi.call(path, method="HEAD")
    assert asgi.inner.calls == before  # answered from the cache, as the GET would be
    assert head_hit.headers["x-response-cache"] == "hit"
    assert head_hit.body == b""
    get_hit = asgi.call(path)
    assert get_hit.body == get.body
    assert head_hit.headers == get_hit.headers
    revalidated = asgi.call(path, method="HEAD", if_none_match=get.headers["etag"])
    assert (revalidated.status, revalidated.body) == (304, b"")


def test_304_from_the_wrapper(asgi: Driver) -> None:
    ProductFactory()
    etag = asgi.call("/api/products").headers["etag"]
    answer = asgi.call("/api/products", if_none_match=etag)
    assert asgi.inner.calls == 1
    assert answer.status == 304
    assert answer.body == b""
    assert answer.headers["etag"] == etag
    assert "content-type" not in answer.headers


def test_a_disallowed_host_goes_to_django_and_gets_400(asgi: Driver) -> None:
    ProductFactory()
    asgi.call("/api/products")  # stored
    assert asgi.call("/api/products", host="evil.example").status == 400


def test_credentials_and_writes_pass_through(asgi: Driver, staff: Any) -> None:
    hidden = ProductFactory(is_active=False)
    asgi.call("/api/products")
    token = bearer(staff)["Authorization"]
    answer = asgi.call("/api/products", authorization=token)
    assert "x-response-cache" not in answer.headers
    assert answer.headers["cache-control"] == "private, max-age=0, must-revalidate"
    assert str(hidden.pk) in answer.body.decode()
    assert asgi.call(f"/api/products/{hidden.pk}", authorization=token).status == 200
    assert asgi.call(f"/api/products/{hidden.pk}").status == 404


def test_a_cross_origin_request_goes_to_django_for_its_cors_headers(asgi: Driver) -> None:
    ProductFactory()
    asgi.call("/api/products")  # stored
    before = asgi.inner.calls
    answer = asgi.call("/api/products", origin="https://shop.example")
    assert asgi.inner.calls == before + 1  # not answered by the wrapper
    assert answer.status == 200
    assert answer.headers.get("x-response-cache") != "hit"


def test_cors_headers_are_never_stored() -> None:
    engine_headers = [
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Origin", "https://a.example"),
        ("Access-Control-Allow-Credentials", "true"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        entry = engine.entry_from_response(
            snapshot=Snapshot(1, "epoch"),
            annotation={"deps": []},
            headers=engine_headers,
            body=b"{}",
        )
    assert entry is not None
    names = {name.lower() for name, _ in entry.headers}
    assert names == {"content-type", "x-content-type-options"}


def test_ssl_redirect_is_left_to_django(asgi: Driver) -> None:
    ProductFactory()
    asgi.call("/api/products")
    with override_settings(SECURE_SSL_REDIRECT=True):
        # Django's middleware reads the setting when its chain is built.
        asgi.app = ResponseCacheASGI(CountingApp())
        assert asgi.call("/api/products").status == 301


def test_off_means_straight_to_django(asgi: Driver) -> None:
    ProductFactory()
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE=None):
        for _ in range(2):
            assert "x-response-cache" not in asgi.call("/api/products").headers


def test_a_304_carries_the_same_headers_from_django_the_middleware_and_the_wrapper(
    asgi: Driver,
) -> None:
    """One rule (``kept_on_304``) for every 304: what the 200 carries, less its content
    metadata. Compared without the headers of one exchange (``Content-Length``...)."""
    ProductFactory()
    cached = ["nexus_shop.http_cache.ResponseCacheMiddleware", *SECURITY_MIDDLEWARE]
    cdn = "nexus_shop.http_cache.VarnishPurge"  # adds the surrogate headers to compare
    with override_settings(MIDDLEWARE=cached, NEXUS_SHOP_CDN_PURGE_BACKEND=cdn):
        engine = get_engine()
        assert engine is not None
        # Straight to Django's application (its chain built now): the middleware answers.
        inner = CountingApp()

        def django(query: str = "", **headers: str) -> Answer:
            return asgi.loop.run_until_complete(
                _call(inner, "/api/products", query, "testserver", headers)
            )

        full = django()
        etag = full.headers["etag"]
        assert engine.store.flush()  # forget it: the next one is Django's own 304
        from_django = django(if_none_match=etag)
        assert from_django.headers["x-response-cache"] == "miss"
        django()  # stored again
        from_middleware = django(if_none_match=etag)
        assert from_middleware.headers["x-response-cache"] == "hit"
        asgi.app = ResponseCacheASGI(inner)
        from_wrapper = asgi.call("/api/products", if_none_match=etag)
        assert from_wrapper.headers["x-response-cache"] == "hit"
        # This engine (the settings changed) has its own asyncio client on the loop.
        asgi.loop.run_until_complete(engine.store.aclose())

    def kept(answer: Answer) -> dict[str, str]:
        assert answer.status == 304
        assert answer.body == b""
        return {n: v for n, v in answer.headers.items() if n not in EXCHANGE_HEADERS}

    assert kept(from_django) == kept(from_middleware) == kept(from_wrapper)
    expected = {n for n in full.headers if n not in EXCHANGE_HEADERS and kept_on_304(n)}
    assert set(kept(from_django)) == expected
    assert {"etag", "cache-control", "vary", "surrogate-key", "x-frame-options"} <= expected
    assert "content-type" not in expected
