"""The auth operations are fully described in the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openapi_spec_validator import validate

EXPECTED: dict[tuple[str, str], tuple[str, str, set[str]]] = {
    ("/api/auth/register", "post"): (
        "auth_register",
        "auth-register",
        {"201", "400", "404", "409", "422", "429"},
    ),
    ("/api/auth/token", "post"): (
        "auth_token_obtain",
        "auth-token",
        {"200", "400", "401", "422", "429"},
    ),
    ("/api/auth/token/refresh", "post"): (
        "auth_token_refresh",
        "auth-token-refresh",
        {"200", "400", "401", "422", "429"},
    ),
    ("/api/auth/token/verify", "post"): (
        "auth_token_verify",
        "auth-token-verify",
        {"200", "400", "401", "422"},
    ),
    ("/api/auth/logout", "post"): ("auth_logout", "auth-logout", {"204", "400", "401", "422"}),
    ("/api/auth/me", "get"): ("auth_me", "auth-me", {"200", "401"}),
    ("/api/auth/password", "post"): (
        "auth_password_change",
        "auth-password-change",
        {"204", "400", "401", "422", "429"},
    ),
}
BEARER_ONLY = {"/api/auth/me", "/api/auth/password"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_the_document_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate(schema)


@pytest.mark.parametrize(("path", "method"), sorted(EXPECTED))
def test_each_auth_operation_is_named_summarised_and_declares_its_errors(
    schema: dict[str, Any], path: str, method: str
) -> None:
    operation_id, url_name, codes = EXPECTED[(path, method)]
    operation = schema["paths"][path][method]

    assert operation["operationId"] == operation_id
    assert operation["summary"]
    assert operation["tags"] == ["auth"]
    # Every operation may answer 503 (database down), every body 413 (nexus_shop.openapi).
    codes = codes | {"503"} | ({"413"} if "requestBody" in operation else set())
    assert set(operation["responses"]) == codes
    for code in codes - {"200", "201", "204"}:
        content = operation["responses"][code]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}
    assert reverse(f"nexus_shop:{url_name}") == path


def test_bearer_endpoints_declare_the_http_bearer_scheme(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    (name,) = [
        n
        for n, s in schemes.items()
        if s == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    ]
    for path, method in EXPECTED:
        security = schema["paths"][path][method].get("security")
        if path in BEARER_ONLY:
            assert security == [{name: []}]
        else:
            assert security is None  # credentials travel in the body


def test_the_schemas_forbid_extra_fields(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name in ("RegisterIn", "TokenObtainIn", "RefreshIn", "VerifyIn", "PasswordChangeIn"):
        assert components[name]["additionalProperties"] is False, name
    assert set(components["MeOut"]["properties"]) == {
        "id",
        "username",
        "email",
        "is_staff",
        "permissions",
    }
    assert set(components["TokenPairOut"]["properties"]) == {"access", "refresh"}
