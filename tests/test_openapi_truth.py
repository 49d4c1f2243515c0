"""The OpenAPI document says what the API does: fuzzers and client generators rely on it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PUBLIC_READS = {"category_list", "category_get", "product_list", "product_facets", "product_get"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = Client().get("/api/openapi.json").json()
    validate(document)
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def test_public_reads_have_optional_auth_and_writes_required(spec: dict[str, Any]) -> None:
    optional = set()
    for _path, _method, operation in _operations(spec):
        security = operation.get("security")
        if security is not None and {} in security:
            assert security == [{}, {"ConfiguredAuth": []}], operation["operationId"]
            optional.add(operation["operationId"])
    assert optional >= PUBLIC_READS


def test_the_security_declared_is_what_an_anonymous_caller_meets(
    spec: dict[str, Any], anon: Client
) -> None:
    # Optional auth: an anonymous call is never a 401. Required: always a 401.
    product = ProductFactory()
    category = CategoryFactory()
    for path, method, operation in _operations(spec):
        security = operation.get("security")
        if security is None:
            continue
        url = path.replace("{product_id}", str(product.pk)).replace(
            "{category_id}", str(category.pk)
        )
        response = getattr(anon, method)(
            url,
            {} if method == "get" else "{}",
            **({} if method == "get" else {"content_type": "application/json"}),
        )
        if {} in security:
            assert response.status_code != 401, (method, path, response.content)
        else:
            assert response.status_code == 401, (method, path, response.content)


def _schema(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def _nullable(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "null" or any(
        branch.get("type") == "null" for branch in prop.get("anyOf", [])
    )


def test_patch_bodies_advertise_null_exactly_where_it_is_accepted(
    spec: dict[str, Any], staff_client: Client
) -> None:
    product = ProductFactory(category=CategoryFactory())
    category = CategoryFactory(parent=CategoryFactory())
    line = staff_client.post(
        "/api/cart/items", {"product_id": product.pk}, content_type="application/json"
    ).json()["lines"][0]
    targets = {"product_update": product, "category_update": category, "cart_update_item": line}
    checked: dict[str, int] = {}
    for path, method, operation in _operations(spec):
        if method != "patch":
            continue
        checked[operation["operationId"]] = 0
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        url = (
            path.replace("{product_id}", str(product.pk))
            .replace("{category_id}", str(category.pk))
            .replace("{line_id}", str(line["id"]))
        )
        for name, prop in _schema(spec, ref)["properties"].items():
            response = staff_client.patch(url, {name: None}, content_type="application/json")
            if _nullable(prop):
                assert response.status_code == 200, (path, name, response.content)
            else:
                assert response.status_code == 422, (path, name, response.content)
                assert "default" not in prop, (path, name)
            checked[operation["operationId"]] += 1
    assert set(checked) == set(targets)  # every PATCH has its row here
    assert all(checked.values()), checked


def test_emails_have_format_email(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]
    assert components["RegisterIn"]["properties"]["email"]["format"] == "email"
    assert components["UserOut"]["properties"]["email"]["format"] == "email"


def _decimal_branches(prop: dict[str, Any]) -> list[dict[str, Any]]:
    if "anyOf" in prop:
        return [b for branch in prop["anyOf"] for b in _decimal_branches(branch)]
    return [prop] if prop.get("type") == "string" else []


def test_decimals_have_a_pattern_that_answers_match(spec: dict[str, Any], anon: Client) -> None:
    components = spec["components"]["schemas"]
    for schema in ("ProductIn", "ProductPatch"):
        (branch,) = _decimal_branches(components[schema]["properties"]["price"])
        assert re.fullmatch(branch["pattern"], "19.99")
        assert not re.fullmatch(branch["pattern"], "-1")
    params = spec["paths"]["/api/products"]["get"]["parameters"]
    for param in params:
        if param["name"] in {"min_price", "max_price"}:
            (branch,) = _decimal_branches(param["schema"])
            assert branch["pattern"]
    out_pattern = components["ProductOut"]["properties"]["price"]["pattern"]
    ProductFactory(price="5")
    ProductFactory(price="1234567.5")
    prices = [p["price"] for p in anon.get("/api/products").json()["items"]]
    assert sorted(prices) == ["1234567.50", "5.00"]
    assert all(re.fullmatch(out_pattern, price) for price in prices)
