"""Bad input to the catalogue is a 422 with the one error shape, never a 500 or a coercion."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Category, Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _product(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Lamp", "sku": "LAMP-1", "price": "9.99", "stock": 3}
    body.update(overrides)
    return body


def _send(client: Client, method: str, path: str, body: Any) -> Any:
    return getattr(client, method)(path, body, content_type="application/json")


def _assert_422_at(response: Any, field: str, error_type: str | None = None) -> None:
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert any(e["loc"][:2] == ["body", field] for e in errors), errors
    if error_type is not None:
        assert any(e["type"] == error_type for e in errors), errors


# Strict integers and booleans --------------------------------------------------------------

STRICT_CASES = [
    ("stock", True),
    ("stock", "3"),
    ("stock", 3.0),
    ("category_id", True),
    ("category_id", "1"),
    ("is_active", "no"),
    ("is_active", 0),
    ("is_active", "false"),
]


@pytest.mark.parametrize(("field", "value"), STRICT_CASES)
def test_product_create_wants_json_integers_and_booleans(
    staff_client: Client, field: str, value: Any
) -> None:
    CategoryFactory(id=1)
    _assert_422_at(_send(staff_client, "post", "/api/products", _product(**{field: value})), field)
    assert not Product.objects.exists()


@pytest.mark.parametrize(("field", "value"), STRICT_CASES)
def test_product_patch_and_put_want_json_integers_and_booleans(
    staff_client: Client, field: str, value: Any
) -> None:
    CategoryFactory(id=1)
    product = ProductFactory(stock=7, is_active=True, category=None)
    path = f"/api/products/{product.pk}"
    _assert_422_at(_send(staff_client, "patch", path, {field: value}), field)
    _assert_422_at(_send(staff_client, "put", path, _product(**{field: value})), field)
    product.refresh_from_db()
    assert (product.stock, product.is_active, product.category_id) == (7, True, None)


@pytest.mark.parametrize("value", [True, "1", 1.0, 0, -1, 2**63])
def test_category_parent_id_wants_a_json_integer_id(staff_client: Client, value: Any) -> None:
    parent = CategoryFactory(id=1)
    _assert_422_at(
        _send(staff_client, "post", "/api/categories", {"name": "x", "parent_id": value}),
        "parent_id",
    )
    child = CategoryFactory(id=2)  # explicit: the id sequence may not be past 1
    _assert_422_at(
        _send(staff_client, "patch", f"/api/categories/{child.pk}", {"parent_id": value}),
        "parent_id",
    )
    assert Category.objects.get(pk=child.pk).parent_id is None
    assert parent.children.count() == 0


def test_prices_still_take_strings_and_numbers(staff_client: Client) -> None:
    response = _send(staff_client, "post", "/api/products", _product(price=9.5))
    assert response.status_code == 201, response.content
    assert response.json()["price"] == "9.50"


# Control characters and bidi overrides -----------------------------------------------------

BAD_TEXT = ["a\x01b", "a\x1bb", "a\x7fb", "a\x85b", "a\u202eb", "a\u2066b", "a\tb", "a\nb"]


@pytest.mark.parametrize("text", BAD_TEXT)
@pytest.mark.parametrize("field", ["name", "sku"])
def test_product_names_and_skus_refuse_control_characters(
    staff_client: Client, field: str, text: str
) -> None:
    response = _send(staff_client, "post", "/api/products", _product(**{field: text}))
    _assert_422_at(response, field, "control_character")
    assert "control characters" in response.json()["detail"]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_slugs_refuse_control_characters(staff_client: Client, text: str) -> None:
    _assert_422_at(_send(staff_client, "post", "/api/products", _product(slug=text)), "slug")
    _assert_422_at(
        _send(staff_client, "post", "/api/categories", {"name": "x", "slug": text}), "slug"
    )


@pytest.mark.parametrize("text", BAD_TEXT)
def test_category_names_refuse_control_characters(staff_client: Client, text: str) -> None:
    category = CategoryFactory()
    _assert_422_at(_send(staff_client, "post", "/api/categories", {"name": text}), "name")
    path = f"/api/categories/{category.pk}"
    _assert_422_at(_send(staff_client, "patch", path, {"name": text}), "name")


@pytest.mark.parametrize("text", ["a\x01b", "a\u202eb", "a\x0bb"])
def test_descriptions_refuse_control_characters(staff_client: Client, text: str) -> None:
    _assert_422_at(
        _send(staff_client, "post", "/api/products", _product(description=text)), "description"
    )


def test_descriptions_keep_tabs_and_line_breaks_and_names_keep_any_script(
    staff_client: Client,
) -> None:
    body = _product(name="Чайник 😀 (ZWJ: 👩\u200d💻)", description="one\ttwo\nthree\r\nfour")
    response = _send(staff_client, "post", "/api/products", body)
    assert response.status_code == 201, response.content
    assert response.json()["description"] == "one\ttwo\nthree\r\nfour"


# Cursors ------------------------------------------------------------------------------------


def test_every_cursor_the_api_issues_is_accepted_back(anon: Client) -> None:
    # Names written before the API refused control characters (or by other code): the
    # cursor of a 255-character one was longer than the accepted maximum.
    # (Characters JSON escapes as \u00XX, 6 bytes each; \t, \n... take 2.)
    for i in range(3):
        ProductFactory(name="".join(chr(14 + (i + k) % 18) for k in range(255)))
    params = {"ordering": "name", "page_size": "1"}
    cursor: str | None = anon.get("/api/products", params).json()["next_cursor"]
    seen = 1
    while cursor is not None:
        assert len(cursor) > 2048
        response = anon.get("/api/products", {**params, "cursor": cursor})
        assert response.status_code == 200, response.content
        seen += len(response.json()["items"])
        cursor = response.json()["next_cursor"]
    assert seen == 3
