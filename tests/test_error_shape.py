"""Every 4xx and 5xx under the API has one JSON shape: ``{"detail": str, "errors": [...]}``.

Each error path is exercised here, through the real API where a request can reach it and
through ``api.on_exception`` for the errors no request of the test suite can provoke.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.db import OperationalError
from django.http import Http404
from django.test import Client, RequestFactory
from ninja.errors import HttpError

from nexus_shop import exceptions as exc
from nexus_shop.api import api
from nexus_shop.limits import MAX_REPORTED_ERRORS
from nexus_shop.schemas.common import Error

pytestmark = pytest.mark.django_db

# The keys an error may add to ``detail`` and ``errors`` (declared in the ``Error`` schema).
DOCUMENTED_EXTRAS = {"field", "error_count", "retry_after", "request_id"}


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = json.loads(response.content)
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["errors"], list)
    for item in body["errors"]:
        assert set(item) == {"loc", "msg", "type"}
        assert isinstance(item["loc"], list)
        assert isinstance(item["msg"], str)
        assert isinstance(item["type"], str)
    assert set(body) - {"detail", "errors"} <= DOCUMENTED_EXTRAS
    # Behind the observability middleware (tests/test_observability.py) the body names
    # the request as its X-Request-ID header does; without it, neither is there.
    assert body.get("request_id") == response.get("X-Request-ID")
    Error.model_validate(body)
    return body


def _json(client: Client, method: str, path: str, body: Any) -> Any:
    return getattr(client, method)(path, body, content_type="application/json")


def test_400_unparseable_body(anon: Client) -> None:
    response = anon.post("/api/auth/token", "{not json", content_type="application/json")
    body = assert_error_shape(response, 400)
    assert body["detail"].startswith("Cannot parse request body")
    assert body["errors"] == []


def test_401_without_and_with_a_bad_token(anon: Client) -> None:
    body = assert_error_shape(_json(anon, "post", "/api/products", {}), 401)
    assert body["detail"] == "Authentication credentials were not provided."
    bad = Client(headers={"Authorization": "Bearer nope"})
    assert_error_shape(bad.get("/api/products"), 401)


def test_403_without_the_permission(customer_client: Client) -> None:
    response = _json(customer_client, "post", "/api/categories", {"name": "x"})
    body = assert_error_shape(response, 403)
    assert "permission" in body["detail"]


@pytest.mark.parametrize("path", ["/api/products/999999", "/api/nowhere", "/api/categories/0"])
def test_404s(anon: Client, path: str) -> None:
    assert_error_shape(anon.get(path), 404)


def test_405(anon: Client) -> None:
    body = assert_error_shape(anon.put("/api/categories"), 405)
    assert body == {"detail": "Method not allowed.", "errors": []}


def test_409_names_the_field_in_errors_and_in_field(staff_client: Client) -> None:
    product = {"name": "Sock", "sku": "SCK-1", "price": "1.00", "stock": 1}
    assert _json(staff_client, "post", "/api/products", product).status_code == 201
    body = assert_error_shape(_json(staff_client, "post", "/api/products", product), 409)
    assert body["field"] == "sku"
    assert body["errors"] == [{"loc": ["body", "sku"], "msg": body["detail"], "type": "conflict"}]


def test_413(staff_client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = {"name": "x" * 5000, "sku": "S", "price": "1", "stock": 1}
    assert_error_shape(_json(staff_client, "post", "/api/products", body), 413)


def test_422_validation_is_a_sentence_and_located_errors(staff_client: Client) -> None:
    response = _json(staff_client, "post", "/api/products", {"name": "x", "price": "-1"})
    body = assert_error_shape(response, 422)
    locs = {tuple(item["loc"]) for item in body["errors"]}
    # Located by field, without the view's parameter name ("payload"). (The default
    # variant's required stock is checked once the fields themselves are valid.)
    assert {("body", "sku"), ("body", "price")} <= locs
    assert body["detail"].startswith("Invalid input (2 problems); the first is body.")


def test_422_on_query_parameters(anon: Client) -> None:
    body = assert_error_shape(anon.get("/api/products", {"page_size": 0}), 422)
    assert body["errors"][0]["loc"] == ["query", "page_size"]
    assert body["detail"].startswith("Invalid input: query.page_size: ")


def test_422_domain_error_on_a_query_names_the_query_field(anon: Client) -> None:
    body = assert_error_shape(anon.get("/api/products", {"cursor": "junk"}), 422)
    assert body["field"] == "cursor"
    assert body["errors"][0]["loc"] == ["query", "cursor"]


def test_429_adds_retry_after(anon: Client, settings: Any) -> None:
    settings.NEXUS_SHOP_THROTTLE_RATES = {"token": "1/hour"}
    # The throttle counts in the cache, which outlives a test run: fresh identities each time.
    ip = f"2001:db8::{uuid.uuid4().hex[:4]}"
    login = {"username": f"shape-{uuid.uuid4().hex}", "password": "x"}
    first = anon.post("/api/auth/token", login, content_type="application/json", REMOTE_ADDR=ip)
    assert first.status_code == 401
    response = anon.post("/api/auth/token", login, content_type="application/json", REMOTE_ADDR=ip)
    body = assert_error_shape(response, 429)
    assert body["retry_after"] == int(response["Retry-After"])


def test_the_number_of_reported_errors_is_capped(staff_client: Client) -> None:
    # A body of many unknown keys once got an answer listing each (16 MB for 150,000).
    payload = {"name": "x", "sku": "S", "price": "1", "stock": 1}
    payload.update({f"k{i}": i for i in range(500)})
    response = _json(staff_client, "post", "/api/products", payload)
    body = assert_error_shape(response, 422)
    assert len(body["errors"]) == MAX_REPORTED_ERRORS
    assert body["error_count"] == 500
    assert len(response.content) < 5_000


def test_too_many_query_fields_is_a_json_400_not_a_500(anon: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = anon.get("/api/products?" + "&".join(f"f{i}=1" for i in range(20)))
    assert assert_error_shape(response, 400)["detail"] == "Bad request."


def test_too_deep_json_is_a_400_on_anonymous_endpoints(anon: Client) -> None:
    # A few hundred levels once overflowed the stack in the NUL check (a 500).
    nested = "[" * 400 + "]" * 400
    for path in ("/api/auth/token", "/api/auth/register", "/api/auth/token/verify"):
        response = anon.post(path, f'{{"token": {nested}}}', content_type="application/json")
        body = assert_error_shape(response, 400)
        assert "nested more than 32 levels" in body["detail"]


def test_too_deep_json_is_a_400_on_every_body_operation(staff_client: Client) -> None:
    spec = staff_client.get("/api/openapi.json").json()
    nested = "[" * 400 + "]" * 400
    seen, writes, multipart = set(), set(), set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch"}:
                writes.add(operation["operationId"])
            if "requestBody" not in operation:
                continue
            if "application/json" not in operation["requestBody"]["content"]:
                multipart.add(operation["operationId"])  # an upload: no JSON to parse
                continue
            url = (
                path.replace("{product_id}", "1")
                .replace("{category_id}", "1")
                .replace("{variant_id}", "1")
            )
            response = getattr(staff_client, method)(
                url, f'{{"name": {nested}}}', content_type="application/json"
            )
            assert_error_shape(response, 400)
            seen.add(operation["operationId"])
    # Every write takes a body but these, whose path says it all; the image upload takes a
    # multipart form (tests/routers/test_images.py).
    assert multipart == {"image_create"}
    assert (
        seen
        == writes
        - {"category_restore", "product_restore", "variant_restore", "cart_create", "order_cancel"}
        - {"webhook_rotate_secret", "webhook_ping", "webhook_redeliver"}
        - multipart
    )


def test_json_deeper_than_the_parser_can_go_is_a_400(anon: Client) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    response = anon.post("/api/auth/token", nested, content_type="application/json")
    assert_error_shape(response, 400)


# Errors no request in the suite reaches: through the handlers themselves. -------------------


def _handled(error: Exception, method: str = "get") -> Any:
    request = getattr(RequestFactory(), method)("/api/products")
    return api.on_exception(request, error)


def test_django_http404() -> None:
    assert assert_error_shape(_handled(Http404("x")), 404)["detail"] == "Not found."


def test_ninja_http_error() -> None:
    assert assert_error_shape(_handled(HttpError(400, "Nope.")), 400)["detail"] == "Nope."


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (exc.PreconditionFailed(), 412),
        (exc.PreconditionRequired(), 428),
        (exc.FeatureDisabled(), 404),
        (exc.ValidationFailed("Bad.", extra={"field": "x"}), 422),
    ],
)
def test_domain_errors(error: exc.NexusShopError, status: int) -> None:
    body = assert_error_shape(_handled(error, "post"), status)
    assert body["detail"] == error.message


def test_extra_keys_add_to_the_shape_but_never_replace_it() -> None:
    error = exc.Conflict("Not enough stock.", extra={"lines": [{"id": 1}], "errors": "x"})
    response = _handled(error, "post")
    assert response.status_code == 409
    body = json.loads(response.content)  # "lines" is the purchase path's documented extra
    assert body == {"detail": "Not enough stock.", "errors": [], "lines": [{"id": 1}]}


def test_ninja_jwt_api_exceptions_keep_their_status() -> None:
    from ninja_extra.exceptions import ValidationError as ExtraValidationError
    from ninja_jwt.exceptions import InvalidToken

    body = assert_error_shape(_handled(InvalidToken()), 401)
    assert body["detail"] == "Token is invalid or expired"
    body = assert_error_shape(_handled(ExtraValidationError({"token": ["Bad."]})), 400)
    assert body["errors"] == [{"loc": ["token"], "msg": "Bad.", "type": "invalid"}]


def test_an_unreachable_database_is_a_json_503() -> None:
    response = _handled(OperationalError("connection refused"))
    assert_error_shape(response, 503)
    assert response["Retry-After"]


def test_any_other_exception_is_a_json_500_and_is_logged(caplog: Any) -> None:
    with caplog.at_level("ERROR", logger="django.request"):
        response = _handled(ZeroDivisionError("boom"))
    body = assert_error_shape(response, 500)
    assert "boom" not in body["detail"]
    assert any(record.exc_info for record in caplog.records)


def test_every_error_response_in_openapi_is_the_error_schema(anon: Client) -> None:
    spec = anon.get("/api/openapi.json").json()
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "errors"}
    assert error["additionalProperties"] is True
    assert set(error["properties"]) >= DOCUMENTED_EXTRAS
    seen = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "head":
                continue  # its GET's answers, without a body (tests/test_head.py)
            for code, response in operation["responses"].items():
                # The health reads answer their own report on 503, not an error.
                if int(code) < 400 or path in {"/api/health", "/api/health/ready"}:
                    continue
                schema = response["content"]["application/json"]["schema"]
                # ``Error`` itself, or a schema that extends it with documented keys.
                name = schema["$ref"].removeprefix("#/components/schemas/")
                component = spec["components"]["schemas"][name]
                assert {"detail", "errors"} <= set(component["required"]), (path, method, code)
                assert component["properties"]["errors"] == error["properties"]["errors"]
                assert component["properties"]["detail"]["type"] == "string"
                seen += 1
    assert seen > 40


def test_body_operations_declare_400(anon: Client) -> None:
    spec = anon.get("/api/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "400" in operation["responses"], (path, method)
