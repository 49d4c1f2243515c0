"""Request ids, the access log and slow statements, through the real middleware stack.

``ObservabilityMiddleware`` goes first, as docs/operations.md tells a host to, and
``ResponseCacheMiddleware`` right below it in the response-cache tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.test import Client, override_settings

from nexus_shop.http_cache import ResponseCacheASGI
from nexus_shop.http_cache.engine import get_engine
from nexus_shop.logs import JsonFormatter, RequestIdFilter
from nexus_shop.observability import ObservabilityASGI
from tests.conftest import bearer
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

OBSERVED_MIDDLEWARE = ["nexus_shop.observability.ObservabilityMiddleware", *settings.MIDDLEWARE]
OBSERVED_CACHE_MIDDLEWARE = [
    "nexus_shop.observability.ObservabilityMiddleware",
    "nexus_shop.http_cache.ResponseCacheMiddleware",
    *settings.MIDDLEWARE,
]
HOSTILE_IDS = [
    "abc\r\nSet-Cookie: session=stolen",
    "x" * 10_240,
    "x" * 129,
    "bell\x07",
    "nul\x00byte",
    "tab\there",
    "space inside",
    "",
    "é-not-ascii",
]


class Records(logging.Handler):
    """Keeps the records of one logger, filtered as a host's handler would be."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def observed() -> Iterator[None]:
    with override_settings(MIDDLEWARE=OBSERVED_MIDDLEWARE):
        yield


@pytest.fixture
def capture() -> Iterator[Any]:
    handlers: list[tuple[logging.Logger, Records, int]] = []

    def attach(name: str) -> Records:
        logger = logging.getLogger(name)
        handler = Records()
        handlers.append((logger, handler, logger.level))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        return handler

    yield attach
    for logger, handler, level in handlers:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def asgi_request(
    app: Any, path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, str], bytes]:
    """One GET, run to its end (the response cache stores after the body is sent)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
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
    start, *bodies = messages
    headers_out = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers_out, b"".join(m.get("body", b"") for m in bodies)


@pytest.fixture
def response_cache() -> Iterator[None]:
    with override_settings(
        NEXUS_SHOP_RESPONSE_CACHE="default", MIDDLEWARE=OBSERVED_CACHE_MIDDLEWARE
    ):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        yield


async def engine_close() -> None:
    engine = get_engine()
    assert engine is not None
    await engine.store.aclose()  # its asyncio Redis pool belongs to this event loop


def test_a_sane_request_id_is_echoed(anon: Client) -> None:
    response = anon.get("/api/health", headers={"X-Request-ID": "edge-7f3a:01"})
    assert response["X-Request-ID"] == "edge-7f3a:01"


def test_without_one_each_request_gets_a_new_id(anon: Client) -> None:
    first = anon.get("/api/health")["X-Request-ID"]
    second = anon.get("/api/health")["X-Request-ID"]
    assert first != second
    assert len(first) == 32


def test_the_longest_sane_id_is_kept(anon: Client) -> None:
    value = "a" * 128
    assert anon.get("/api/health", headers={"X-Request-ID": value})["X-Request-ID"] == value


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
def test_a_hostile_id_is_replaced_never_echoed(anon: Client, hostile: str) -> None:
    response = anon.get("/api/nope", headers={"X-Request-ID": hostile})
    assert response.status_code == 404
    replaced = response["X-Request-ID"]
    assert replaced != hostile
    assert len(replaced) == 32
    assert replaced.isalnum()
    body = response.json()
    assert body["request_id"] == replaced
    if hostile:
        assert hostile not in response.content.decode()
        assert all(hostile not in value for value in response.headers.values())


def test_the_error_body_names_the_request(anon: Client) -> None:
    response = anon.post(
        "/api/auth/token", "{", content_type="application/json", headers={"X-Request-ID": "r-1"}
    )
    assert response.status_code == 400
    assert response.json()["request_id"] == "r-1"


def test_a_cache_hit_carries_its_own_requests_id(anon: Client, response_cache: None) -> None:
    product = ProductFactory()
    url = f"/api/products/{product.pk}"
    miss = anon.get(url, headers={"X-Request-ID": "first"})
    hit = anon.get(url, headers={"X-Request-ID": "second"})
    fresh = anon.get(url)
    assert miss["X-Response-Cache"] == "miss"
    assert hit["X-Response-Cache"] == "hit"
    assert miss["X-Request-ID"] == "first"
    assert hit["X-Request-ID"] == "second"
    assert fresh["X-Request-ID"] not in {"first", "second"}
    assert b"first" not in hit.content


@pytest.mark.django_db(transaction=True)  # Django's ASGI handler queries from its thread
def test_under_asgi_a_hit_carries_its_own_requests_id(response_cache: None) -> None:
    product = ProductFactory()
    app = ObservabilityASGI(ResponseCacheASGI(cast(Any, get_asgi_application())))
    path = f"/api/products/{product.pk}"

    async def two() -> tuple[Any, Any]:
        miss = await asgi_request(app, path, [(b"x-request-id", b"one")])
        hit = await asgi_request(app, path, [(b"x-request-id", b"two")])
        await engine_close()
        return miss, hit

    miss, hit = asyncio.run(two())
    assert miss[0] == hit[0] == 200
    assert miss[1]["x-response-cache"] == "miss"
    assert hit[1].get("x-response-cache") != "miss"  # answered before Django
    assert miss[1]["x-request-id"] == "one"
    assert hit[1]["x-request-id"] == "two"


@pytest.mark.django_db(transaction=True)
def test_under_asgi_a_hostile_id_is_replaced(response_cache: None) -> None:
    app = ObservabilityASGI(cast(Any, get_asgi_application()))
    status, headers, body = asyncio.run(
        asgi_request(app, "/api/nope", [(b"x-request-id", b"a\x01b")])
    )
    assert status == 404
    assert headers["x-request-id"] != "a\x01b"
    assert json.loads(body)["request_id"] == headers["x-request-id"]


def test_library_log_records_carry_the_request_id(anon: Client, capture: Any) -> None:
    records = capture("django.request")
    response = anon.post(
        "/api/auth/token", "{", content_type="application/json", headers={"X-Request-ID": "lib"}
    )
    assert response.status_code == 400
    assert [r.request_id for r in records.records] == ["lib"]


def test_outside_a_request_records_say_dash(capture: Any) -> None:
    records = capture("nexus_shop.test")
    logging.getLogger("nexus_shop.test").warning("no request here")
    assert records.records[0].request_id == "-"


def test_one_json_access_line_per_request(customer: Any, capture: Any) -> None:
    records = capture("nexus_shop.access")
    client = Client(headers=bearer(customer))
    response = client.get("/api/auth/me", headers={"X-Request-ID": "line-1"})
    assert response.status_code == 200
    [record] = records.records
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "line-1"
    assert line["operation"] == "auth_me"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["user_id"] == customer.pk
    assert line["cache"] is None
    assert line["duration_ms"] > 0
    assert line["queries"] >= 1
    assert line["logger"] == "nexus_shop.access"
    assert line["level"] == "INFO"
    # Never a credential: the bearer token is nowhere in the line.
    token = client.defaults["HTTP_AUTHORIZATION"].split()[1]
    assert token not in json.dumps(line)


def test_the_access_line_names_an_unknown_path_unmatched(anon: Client, capture: Any) -> None:
    records = capture("nexus_shop.access")
    anon.get("/api/products/1/nothing/here")
    anon.get("/not-the-api-at-all")
    assert [r.operation for r in records.records] == ["unmatched", "unmatched"]
    assert [r.status for r in records.records] == [404, 404]


def test_a_cart_token_never_reaches_the_access_line(anon: Client, capture: Any) -> None:
    records = capture("nexus_shop.access")
    created = anon.post("/api/cart")
    token = created.json()["token"]
    anon.get("/api/cart", headers={"X-Cart-Token": token})
    assert len(records.records) == 2
    for record in records.records:
        assert token not in JsonFormatter().format(record)


def test_hits_are_logged_one_in_n(anon: Client, capture: Any, response_cache: None) -> None:
    records = capture("nexus_shop.access")
    product = ProductFactory()
    url = f"/api/products/{product.pk}"
    with override_settings(NEXUS_SHOP_ACCESS_LOG_HITS_EVERY=3):
        anon.get(url)  # the miss: always logged
        for _ in range(6):
            anon.get(url)
    caches = [r.cache for r in records.records]
    assert caches == ["miss", "hit", "hit"]
    assert [r.sampled for r in records.records] == [1, 3, 3]
    assert {r.operation for r in records.records} == {"product_get"}


def test_hits_can_be_left_out_of_the_access_log(
    anon: Client, capture: Any, response_cache: None
) -> None:
    records = capture("nexus_shop.access")
    product = ProductFactory()
    with override_settings(NEXUS_SHOP_ACCESS_LOG_HITS_EVERY=0):
        for _ in range(3):
            anon.get(f"/api/products/{product.pk}")
    assert [r.cache for r in records.records] == ["miss"]


def test_slow_statements_are_logged_with_request_and_operation(anon: Client, capture: Any) -> None:
    records = capture("nexus_shop.db")
    ProductFactory()
    with override_settings(NEXUS_SHOP_SLOW_QUERY_MS=0):  # every statement is "slow"
        anon.get("/api/products", headers={"X-Request-ID": "slow-1"})
    assert records.records
    for record in records.records:
        assert record.request_id == "slow-1"
        assert record.operation == "product_list"
        assert record.levelno == logging.WARNING
        assert "SELECT" in record.getMessage()


def test_statements_under_the_threshold_are_not_logged(anon: Client, capture: Any) -> None:
    records = capture("nexus_shop.db")
    ProductFactory()
    anon.get("/api/products")  # the default, 200 ms: nothing here is that slow
    with override_settings(NEXUS_SHOP_SLOW_QUERY_MS=None):
        anon.get("/api/products")
    assert records.records == []


def test_a_slow_statement_never_logs_its_parameters(customer: Any, capture: Any) -> None:
    records = capture("nexus_shop.db")
    with override_settings(NEXUS_SHOP_SLOW_QUERY_MS=0):
        Client().post(
            "/api/auth/token",
            {"username": customer.username, "password": "s3cret-Passw0rd!"},
            content_type="application/json",
        )
    assert records.records
    assert not any(customer.username in JsonFormatter().format(r) for r in records.records)


def test_the_json_formatter_writes_extras_and_exceptions() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    record.request_id = "r"
    record.thing = object()
    try:
        raise ValueError("inner")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "boom now"
    assert line["request_id"] == "r"
    assert line["thing"].startswith("<object")
    assert "ValueError: inner" in line["exception"]


@pytest.mark.django_db(transaction=True)
def test_under_asgi_each_request_is_logged_once_with_one_id(capture: Any) -> None:
    # The example's chain: a sync-only middleware below makes Django run this one sync.
    records = capture("nexus_shop.access")
    sync_below = [*OBSERVED_MIDDLEWARE, "tests.test_observability.SyncOnly"]
    with override_settings(MIDDLEWARE=sync_below):
        app = ObservabilityASGI(cast(Any, get_asgi_application()))
        status, headers, body = asyncio.run(
            asgi_request(app, "/api/nope", [(b"x-request-id", b"once")])
        )
    assert status == 404
    assert headers["x-request-id"] == "once"
    assert json.loads(body)["request_id"] == "once"
    assert [(r.request_id, r.operation) for r in records.records] == [("once", "unmatched")]


class SyncOnly:
    """A middleware that can only run sync, as many third-party ones still are."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        return self.get_response(request)
