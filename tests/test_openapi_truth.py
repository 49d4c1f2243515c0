"""The OpenAPI document says what the API does: fuzzers and client generators rely on it."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate
from PIL import Image

from nexus_shop.models import ProductVariant
from nexus_shop.services.images import image_add
from tests.factories import CategoryFactory, ProductFactory
from tests.support import webhook_rows

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
    # Optional auth is declared as no requirement (`security: []`): openapi-python-client
    # types `[{}, {...}]` as "token required" (nexus_shop.openapi.finish_schema says why).
    optional = set()
    for _path, _method, operation in _operations(spec):
        security = operation.get("security")
        if security == []:
            optional.add(operation["operationId"].removesuffix("_head"))
        else:
            assert security in (None, [{"ConfiguredAuth": []}]), operation["operationId"]
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
        read = method in ("get", "head")
        response = getattr(anon, method)(
            url,
            {} if read else "{}",
            **({} if read else {"content_type": "application/json"}),
        )
        if security == []:
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


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


def test_patch_bodies_advertise_null_exactly_where_it_is_accepted(
    spec: dict[str, Any], staff_client: Client
) -> None:
    product = ProductFactory(category=CategoryFactory())
    category = CategoryFactory(parent=CategoryFactory())
    line = staff_client.post(
        "/api/cart/items", {"product_id": product.pk}, content_type="application/json"
    ).json()["lines"][0]
    variant = ProductVariant.objects.get(product=product)
    image = image_add(product_id=product.pk, data=_png())
    endpoint = webhook_rows.endpoint()
    targets = {
        "product_update": product,
        "variant_update": variant,
        "image_update": image,
        "category_update": category,
        "cart_update_item": line,
        "webhook_update": endpoint,
    }
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
            .replace("{variant_id}", str(variant.pk))
            .replace("{image_id}", str(image.pk))
            .replace("{id}", str(endpoint.pk))
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


def test_statuses_are_described_in_rfc_9110_words_whichever_python_serves(
    spec: dict[str, Any],
) -> None:
    # Python 3.13 renamed 413 and 422 (and others): the committed document is one, so a
    # client generated on 3.11 and one on 3.13 agree.
    from nexus_shop.openapi import RFC9110_PHRASES

    seen: set[int] = set()
    for _path, _method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if int(status) in RFC9110_PHRASES:
                seen.add(int(status))
                assert response["description"] == RFC9110_PHRASES[int(status)]
    assert {413, 422} <= seen


def _parameters(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (operation["operationId"], parameter)
        for _path, _method, operation in _operations(spec)
        for parameter in operation.get("parameters", [])
    ]


def _has_key(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_has_key(value, key) for value in node.values())
    if isinstance(node, list):
        return any(_has_key(value, key) for value in node)
    return False


def test_no_parameter_has_a_default_to_send_and_effective_defaults_are_stated(
    spec: dict[str, Any], anon: Client
) -> None:
    # A generated client sends a declared default with every call (page=1 next to a cursor,
    # an empty X-Cart-Token). The server's effective default is in the description instead.
    from nexus_shop.schemas.params import QUERY_DEFAULTS

    stated = set()
    for operation_id, parameter in _parameters(spec):
        assert not _has_key(parameter["schema"], "default"), (operation_id, parameter)
        if parameter["in"] == "query" and parameter["name"] in QUERY_DEFAULTS:
            said = QUERY_DEFAULTS[parameter["name"]].describe()
            assert said in parameter["description"], (operation_id, parameter["name"])
            stated.add(parameter["name"])
    assert stated == set(QUERY_DEFAULTS)
    ProductFactory()
    assert anon.get("/api/products").json() == anon.get("/api/products?page=1").json()


def test_idempotency_key_is_required_and_a_missing_one_is_still_428(
    spec: dict[str, Any], customer_client: Client
) -> None:
    (key,) = [
        p for op, p in _parameters(spec) if op == "checkout" and p["name"] == "Idempotency-Key"
    ]
    assert key["required"] is True
    # Declared required, but the explicit check answers (ninja's own would be a 422): a
    # bare POST, as the docs' curl example sends it (no body, no Content-Type).
    response = customer_client.generic("POST", "/api/checkout")
    assert response.status_code == 428, response.content
    assert "Idempotency-Key" in response.json()["detail"]


def test_the_cached_public_reads_declare_if_none_match_and_304(spec: dict[str, Any]) -> None:
    from nexus_shop.http_cache.reads import READS

    reads = {read.operation_id for read in READS.values()}
    revalidated = {
        operation["operationId"].removesuffix("_head")
        for _path, _method, operation in _operations(spec)
        if "304" in operation["responses"]
    }
    assert revalidated == reads
    for operation_id, parameter in _parameters(spec):
        if parameter["name"] == "If-None-Match":
            assert operation_id.removesuffix("_head") in reads
    for _path, _method, operation in _operations(spec):
        if operation["operationId"] in reads:
            headers = operation["responses"]["304"]["headers"]
            assert {"ETag", "Cache-Control"} <= headers.keys()


def test_every_body_declares_413_and_an_optional_body_is_a_plain_ref(
    spec: dict[str, Any],
) -> None:
    bodies = 0
    for _path, _method, operation in _operations(spec):
        body = operation.get("requestBody")
        if body is None:
            continue
        bodies += 1
        assert "413" in operation["responses"], operation["operationId"]
        for media in body["content"].values():
            assert "anyOf" not in media["schema"], operation["operationId"]
    assert bodies
    checkout = spec["paths"]["/api/checkout"]["post"]["requestBody"]
    assert checkout["required"] is False
    assert checkout["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CheckoutIn"
    }


def test_retry_after_is_declared_on_every_429_and_error_503(spec: dict[str, Any]) -> None:
    for _path, _method, operation in _operations(spec):
        for status in ("429", "503"):
            response = operation["responses"].get(status)
            if response is None or operation["operationId"].startswith("health"):
                continue
            assert response["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert all("503" in op["responses"] for _p, _m, op in _operations(spec))


def test_enums_have_stable_names_and_are_declared_once(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]
    ordering = components["ProductOrdering"]
    assert dict(zip(ordering["enum"], ordering["x-enum-varnames"], strict=True)) == {
        "price": "PRICE",
        "-price": "PRICE_DESC",
        "created_at": "CREATED_AT",
        "-created_at": "CREATED_AT_DESC",
        "name": "NAME",
        "-name": "NAME_DESC",
        "relevance": "RELEVANCE",
    }
    text = json.dumps(spec)
    for name in ("ProductOrdering", "OrderStatus"):
        enum = json.dumps(components[name]["enum"])
        assert text.count(f'"enum": {enum}') == 1, name  # the component only


def test_every_component_is_used(spec: dict[str, Any]) -> None:
    from nexus_shop.routers.purchase import used_schemas

    components = spec["components"]["schemas"]
    assert set(components) == used_schemas(spec["paths"], components)
    for dead in (
        "PageParams",
        "ProductFilter",
        "StaffOrderFilter",
        "ProductDetailParams",
        "CategoryListParams",
        "CategoryDetailParams",
    ):
        assert dead not in components


def test_the_served_document_has_no_duplicated_key() -> None:
    # ninja's int status keys next to our "503" once serialised as two "503" keys: valid
    # for Python's json, refused by Swagger UI's parser ("duplicated mapping key"), which
    # then rendered nothing.
    duplicated: list[tuple[str, ...]] = []

    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            duplicated.append(tuple(keys))
        return dict(pairs)

    json.loads(Client().get("/api/openapi.json").content, object_pairs_hook=refuse_duplicates)
    assert duplicated == []
