"""HEAD answers wherever GET does, exactly as GET would, with no body (RFC 9110 9.1, 9.3.2).

ninja routes by method and knows no HEAD; :class:`nexus_shop.api.NexusShopAPI` runs the
GET and drops its body. Django's test client drops a HEAD's body itself, so the views
are called here without it, to prove the API sends none. The response cache answers a
HEAD from the GET's entry (tests/http_cache/test_asgi.py for the ASGI wrapper).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import resolve

from nexus_shop.http_cache import ResponseCacheMiddleware
from nexus_shop.http_cache.engine import get_engine
from tests.conftest import bearer
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _view(request: HttpRequest) -> HttpResponse:
    """The API's view for ``request``, without Django's middleware or test client."""
    match = resolve(request.path)
    response: HttpResponse = match.func(request, *match.args, **match.kwargs)
    return response


def _call(method: str, path: str, **headers: str) -> HttpResponse:
    return _view(RequestFactory().generic(method, path, headers=headers))


def _get_paths(spec: dict[str, Any], **ids: int) -> list[str]:
    paths = []
    for template, operations in spec["paths"].items():
        if "get" in operations:
            path = template
            for name, value in ids.items():
                path = path.replace("{" + name + "}", str(value))
            paths.append(path)
    return paths


def test_every_get_operation_answers_head_as_get_without_a_body(staff: Any) -> None:
    spec = Client().get("/api/openapi.json").json()
    product = ProductFactory(category=CategoryFactory())
    assert product.category is not None
    paths = _get_paths(spec, product_id=product.pk, category_id=product.category.pk)
    paths = [path for path in paths if "{" not in path]  # orders: tests/purchase
    assert {"/api/products", "/api/health", f"/api/products/{product.pk}"} <= set(paths)
    for auth in ({}, bearer(staff)):
        for path in paths:
            get, head = _call("GET", path, **auth), _call("HEAD", path, **auth)
            assert get.content, path
            assert head.content == b"", path
            assert head.status_code == get.status_code, path
            get_headers = {**get.headers, "Content-Length": str(len(get.content))}
            assert dict(head.headers) == get_headers, path
            # Through Django's middleware too (tests/test_openapi_contract.py sees these).
            assert Client(headers=auth).head(path).status_code == get.status_code, path


def test_head_keeps_etag_and_answers_if_none_match_with_304() -> None:
    product = ProductFactory()
    path = f"/api/products/{product.pk}"
    etag = _call("GET", path)["ETag"]
    assert _call("HEAD", path)["ETag"] == etag
    revalidated = _call("HEAD", path, if_none_match=etag)
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert "Content-Length" not in revalidated


def test_head_of_an_error_is_the_error_without_its_body() -> None:
    get, head = _call("GET", "/api/products/999999"), _call("HEAD", "/api/products/999999")
    assert (get.status_code, head.status_code) == (404, 404)
    assert head.content == b""
    assert head["Content-Length"] == str(len(get.content))


def test_head_where_there_is_no_get_is_405_and_allow_names_head_with_get() -> None:
    refused = _call("HEAD", "/api/checkout")
    assert refused.status_code == 405
    assert refused["Allow"] == "POST"
    assert _call("DELETE", "/api/products/facets")["Allow"] == "GET, HEAD"


@pytest.fixture
def response_cache() -> Iterator[None]:
    middleware = ["nexus_shop.http_cache.ResponseCacheMiddleware", *settings.MIDDLEWARE]
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default", MIDDLEWARE=middleware):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        yield


@pytest.mark.usefixtures("response_cache")
def test_the_response_cache_answers_head_from_the_gets_entry() -> None:
    product = ProductFactory()
    path = f"/api/products/{product.pk}"
    reached: list[str] = []

    def app(request: HttpRequest) -> HttpResponse:
        reached.append(request.method or "")
        return _view(request)

    middleware = ResponseCacheMiddleware(app)
    factory = RequestFactory()
    head_miss = middleware(factory.head(path))
    assert head_miss.content == b""
    assert head_miss["X-Response-Cache"] == "miss"
    assert middleware(factory.head(path))["X-Response-Cache"] == "miss"  # HEAD stores nothing
    get = middleware(factory.get(path))
    assert reached == ["HEAD", "HEAD", "GET"]
    head_hit = middleware(factory.head(path))
    assert reached == ["HEAD", "HEAD", "GET"]  # the hit never reached the API
    assert head_hit["X-Response-Cache"] == "hit"
    assert head_hit.content == b""
    assert head_hit["Content-Length"] == str(len(get.content))
    get_hit = middleware(factory.get(path))
    assert dict(head_hit.headers) == dict(get_hit.headers)
    assert get_hit.content == get.content
