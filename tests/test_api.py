"""Nothing under /api/ answers HTML: unknown paths, wrong methods, oversized bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from ninja import NinjaAPI

from tests.conftest import bearer

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")
# Every method the test client has a helper for (TRACE aside: Django answers it as GET).
METHODS = ("get", "head", "options", *WRITES)


def _send(client: Client, method: str, path: str) -> Any:
    if method in WRITES:
        return getattr(client, method)(path, "{}", content_type="application/json")
    return getattr(client, method)(path)


def _csrf_client(user: Any, *, token: bool) -> Client:
    """Django's test client with CSRF checked, as a browser's request would be."""
    return Client(enforce_csrf_checks=True, headers=bearer(user) if token else {})


def _assert_json_error(response: Any, status: int, detail: str) -> None:
    """The error shape, its content type and no-store, whatever the method."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    if response.request["REQUEST_METHOD"] != "HEAD":  # the client drops a HEAD's body
        assert response.json() == {"detail": detail, "errors": []}


@pytest.mark.parametrize(
    "path", ["/api/nope", "/api/products/abc/def", "/api/products/", "/api/auth/nope"]
)
def test_unknown_paths_are_json_404(anon: Client, path: str) -> None:
    response = anon.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "detail" in response.json()


@pytest.mark.parametrize("token", [False, True], ids=["anonymous", "bearer"])
@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_path_is_the_same_json_404_for_every_method_under_csrf_checks(
    customer: Any, method: str, token: bool
) -> None:
    # It was Django's HTML CSRF 403 for every write: the catch-all view was not csrf_exempt.
    response = _send(_csrf_client(customer, token=token), method, "/api/nope/1")
    _assert_json_error(response, 404, "No endpoint at /api/nope/1.")


@pytest.mark.parametrize("token", [False, True], ids=["anonymous", "bearer"])
@pytest.mark.parametrize("method", ["options", "put", "patch", "delete"])
def test_a_wrong_method_on_an_operation_is_json_405_under_csrf_checks(
    customer: Any, method: str, token: bool
) -> None:
    response = _send(_csrf_client(customer, token=token), method, "/api/categories")
    _assert_json_error(response, 405, "Method not allowed.")
    # HEAD is allowed wherever GET is (tests/test_head.py).
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.mark.parametrize("token", [False, True], ids=["anonymous", "bearer"])
def test_a_write_operation_answers_json_under_csrf_checks(customer: Any, token: bool) -> None:
    # ninja's own views were always CSRF-exempt; the authenticator decides (401 or 403).
    client = _csrf_client(customer, token=token)
    response = client.post("/api/categories", {"name": "Tea"}, content_type="application/json")
    assert response.status_code == (403 if token else 401), response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("token", [False, True], ids=["anonymous", "bearer"])
@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("path", ["/api/", "/api/openapi.json", "/api/docs"])
def test_the_api_pages_are_reads_a_write_is_json_405_under_csrf_checks(
    customer: Any, path: str, method: str, token: bool
) -> None:
    client = _csrf_client(customer, token=token)
    response = _send(client, method, path)
    _assert_json_error(response, 405, "Method not allowed.")
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/api/", "/api/openapi.json", "/api/docs"])
def test_the_api_pages_still_answer_reads_under_csrf_checks(customer: Any, path: str) -> None:
    # Once per page, not per write above: building openapi.json costs ~0.35 s.
    client = _csrf_client(customer, token=False)
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200


def test_the_api_root_points_to_the_docs(anon: Client) -> None:
    response = anon.get("/api/")
    assert response.status_code == 200
    assert response.json()["docs"] == "/api/docs"
    assert response.json()["openapi"] == "/api/openapi.json"


def test_non_integer_id_is_a_json_error(anon: Client) -> None:
    response = anon.get("/api/products/abc")
    assert response.status_code in {404, 422}
    assert "detail" in response.json()


def test_wrong_method_is_json_405(anon: Client) -> None:
    response = anon.put("/api/categories")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method not allowed.", "errors": []}
    assert "GET" in response["Allow"]


def test_too_large_body_is_json_413(staff_client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = {"name": "x" * 5000, "sku": "S", "price": "1", "stock": 1}
    response = staff_client.post("/api/products", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is too large.", "errors": []}


def test_openapi_is_valid_and_declares_every_status(anon: Client) -> None:
    from openapi_spec_validator import validate

    spec = anon.get("/api/openapi.json").json()
    validate(spec)
    create = spec["paths"]["/api/products"]["post"]
    assert create["operationId"] == "product_create"
    assert {"201", "401", "403", "409", "422"} <= set(create["responses"])
    assert spec["components"]["securitySchemes"]["ConfiguredAuth"]["scheme"] == "bearer"


def test_swagger_ui_is_served(anon: Client) -> None:
    response = anon.get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_register_exception_handlers_on_a_host_api() -> None:
    from nexus_shop.api import register_exception_handlers
    from nexus_shop.exceptions import Conflict

    api = NinjaAPI(urls_namespace="host-test")
    register_exception_handlers(api)
    from django.test import RequestFactory

    response = api.on_exception(
        RequestFactory().get("/"), Conflict("taken", extra={"field": "sku"})
    )
    assert response.status_code == 409
    assert json.loads(response.content) == {
        "detail": "taken",
        "errors": [{"loc": ["query", "sku"], "msg": "taken", "type": "conflict"}],
        "field": "sku",
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/products?q=a%00b", None),
        ("get", "/api/products?category=a%00b", None),
        ("get", "/api/products?cursor=a%00b", None),
        ("get", "/api/categories?cursor=%00", None),
        ("post", "/api/products", {"name": "a\x00", "sku": "S", "price": "1", "stock": 1}),
        ("post", "/api/products", {"name": "a", "sku": "S\x00", "price": "1", "stock": 1}),
        ("post", "/api/categories", {"name": "a", "description": "x\x00y"}),
        ("post", "/api/auth/token", {"username": "a\x00", "password": "x"}),
        ("post", "/api/auth/register", {"username": "a\x00", "email": "a@b.c", "password": "x"}),
    ],
)
def test_nul_characters_are_a_json_422_on_every_backend(
    staff_client: Client, method: str, path: str, body: Any
) -> None:
    # PostgreSQL cannot store NUL in text: without the check this was a 500 there.
    if body is None:
        response = getattr(staff_client, method)(path)
    else:
        response = getattr(staff_client, method)(path, body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert "NUL" in str(response.json()["detail"])


def test_the_nul_check_walks_any_depth_without_recursing() -> None:
    from nexus_shop.schemas.common import InputTooDeep, _has_nul, input_depth_ok

    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    assert not input_depth_ok(deep)
    assert input_depth_ok([[["x"]]], max_depth=3)
    assert not input_depth_ok([[["x"]]], max_depth=2)
    with pytest.raises(InputTooDeep):
        _has_nul(deep)
    assert _has_nul({"a": [{"b\x00": 1}]})
    assert not _has_nul({"a": [{"b": "c"}]})
