from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCT_FIELDS = {
    "price_range",
    "options",
    "thumbnail",
    "variants",
    "images",
    "id",
    "name",
    "slug",
    "sku",
    "description",
    "price",
    "currency",
    "stock",
    "in_stock",
    "is_active",
    "category",
    "created_at",
    "updated_at",
}


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Trail Runner", "sku": "TR-1", "price": "19.99", "stock": 3}
    body.update(overrides)
    return body


def _post(client: Client, path: str, body: Any) -> Any:
    return client.post(path, body, content_type="application/json")


# Create ---------------------------------------------------------------------------------------


def test_create_answers_201_with_the_full_product_json(staff_client: Client) -> None:
    category = CategoryFactory(name="Shoes", slug="shoes")
    response = _post(staff_client, "/api/products", _body(category_id=category.pk))
    assert response.status_code == 201
    data = response.json()
    assert set(data) == PRODUCT_FIELDS
    assert data["price"] == "19.99"  # a decimal string, never a float
    assert data["currency"] == "USD"
    assert data["slug"] == "trail-runner"
    assert data["in_stock"] is True
    assert data["is_active"] is True
    assert data["category"] == {"id": category.pk, "name": "Shoes", "slug": "shoes"}
    assert Product.objects.get(pk=data["id"]).price == Decimal("19.99")


def test_create_uses_the_currency_setting(staff_client: Client, settings: Any) -> None:
    settings.NEXUS_SHOP_CURRENCY = "EUR"
    assert _post(staff_client, "/api/products", _body()).json()["currency"] == "EUR"


def test_derived_slugs_are_made_unique(staff_client: Client) -> None:
    first = _post(staff_client, "/api/products", _body(sku="A")).json()
    second = _post(staff_client, "/api/products", _body(sku="B")).json()
    assert (first["slug"], second["slug"]) == ("trail-runner", "trail-runner-2")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"price": "-0.01"}, "price"),
        ({"stock": -1}, "stock"),
        ({"price": "1.999"}, "price"),
        ({"price": "abc"}, "price"),
        ({"name": ""}, "name"),
        ({"slug": "not a slug!"}, "slug"),
        ({"colour": "red"}, "colour"),
        ({"id": 99}, "id"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"deleted_at": None}, "deleted_at"),
        ({"currency": "EUR"}, "currency"),
    ],
)
def test_invalid_or_server_owned_fields_are_422(
    staff_client: Client, override: dict[str, Any], field: str
) -> None:
    response = _post(staff_client, "/api/products", _body(**override))
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert not Product.all_objects.exists()


def test_missing_required_fields_are_422(staff_client: Client) -> None:
    response = _post(staff_client, "/api/products", {"name": "x"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {tuple(err["loc"]) for err in errors} == {("body", "sku")}
    assert {err["type"] for err in errors} == {"missing"}
    # Without variants, the default variant's price and stock are required, field by field.
    response = _post(staff_client, "/api/products", {"name": "x", "sku": "X-1"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {tuple(err["loc"]) for err in errors} == {("body", "price"), ("body", "stock")}
    assert {err["type"] for err in errors} == {"missing"}


def test_malformed_json_is_a_json_4xx(staff_client: Client) -> None:
    response = staff_client.post("/api/products", "{not json", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


def test_unknown_category_is_422(staff_client: Client) -> None:
    response = _post(staff_client, "/api/products", _body(category_id=424242))
    assert response.status_code == 422
    assert response.json()["field"] == "category_id"


@pytest.mark.parametrize("field", ["sku", "slug"])
def test_duplicate_sku_or_slug_is_409(staff_client: Client, field: str) -> None:
    ProductFactory(sku="TAKEN", slug="taken")
    response = _post(
        staff_client,
        "/api/products",
        _body(**{field: "TAKEN".lower() if field == "slug" else "TAKEN"}),
    )
    assert response.status_code == 409
    assert response.json()["field"] == field


def test_a_deleted_products_slug_and_sku_can_be_reused(staff_client: Client) -> None:
    old = ProductFactory(sku="REUSE", slug="reuse")
    assert staff_client.delete(f"/api/products/{old.pk}").status_code == 204
    response = _post(staff_client, "/api/products", _body(sku="REUSE", slug="reuse"))
    assert response.status_code == 201


# Read -----------------------------------------------------------------------------------------


def test_detail_is_public(anon: Client) -> None:
    product = ProductFactory(price=Decimal("5.50"))
    response = anon.get(f"/api/products/{product.pk}")
    assert response.status_code == 200
    assert response.json()["price"] == "5.50"


def test_detail_404s(anon: Client, staff_client: Client) -> None:
    inactive = ProductFactory(is_active=False)
    deleted = ProductFactory(deleted_at="2026-01-01T00:00:00Z")
    for pk in (inactive.pk, deleted.pk, 999999):
        response = anon.get(f"/api/products/{pk}")
        assert response.status_code == 404
        assert "detail" in response.json()
    # Staff see inactive; deleted only on request.
    assert staff_client.get(f"/api/products/{inactive.pk}").status_code == 200
    assert staff_client.get(f"/api/products/{deleted.pk}").status_code == 404
    assert staff_client.get(f"/api/products/{deleted.pk}?include_deleted=true").status_code == 200
    # include_deleted means nothing to the public.
    assert anon.get(f"/api/products/{deleted.pk}?include_deleted=true").status_code == 404


def test_a_bad_token_on_a_public_read_is_401(anon: Client) -> None:
    product = ProductFactory()
    response = anon.get(f"/api/products/{product.pk}", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 401


# Update ---------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(staff_client: Client) -> None:
    product = ProductFactory(name="Old", price=Decimal("1.00"), stock=2, description="keep")
    response = staff_client.patch(
        f"/api/products/{product.pk}", {"price": "2.50"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["price"] == "2.50"
    product.refresh_from_db()
    assert (product.name, product.stock, product.description) == ("Old", 2, "keep")


def test_patch_can_clear_the_category(staff_client: Client) -> None:
    product = ProductFactory(category=CategoryFactory())
    response = staff_client.patch(
        f"/api/products/{product.pk}", {"category_id": None}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["category"] is None


def test_put_replaces_and_keeps_the_slug_when_left_out(staff_client: Client) -> None:
    product = ProductFactory(slug="stable", description="old", is_active=False)
    response = staff_client.put(
        f"/api/products/{product.pk}",
        _body(name="New name", sku="NEW"),
        content_type="application/json",
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["name"], data["sku"], data["slug"]) == ("New name", "NEW", "stable")
    assert (data["description"], data["is_active"]) == ("", True)


def test_put_needs_every_required_field(staff_client: Client) -> None:
    product = ProductFactory()
    response = staff_client.put(
        f"/api/products/{product.pk}", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 422


def test_update_to_a_taken_sku_is_409(staff_client: Client) -> None:
    ProductFactory(sku="A")
    product = ProductFactory(sku="B")
    response = staff_client.patch(
        f"/api/products/{product.pk}", {"sku": "A"}, content_type="application/json"
    )
    assert response.status_code == 409
    product.refresh_from_db()
    assert product.sku == "B"


def test_update_of_a_deleted_product_is_404(staff_client: Client) -> None:
    product = ProductFactory(deleted_at="2026-01-01T00:00:00Z")
    response = staff_client.patch(
        f"/api/products/{product.pk}", {"stock": 1}, content_type="application/json"
    )
    assert response.status_code == 404


# Delete and restore ---------------------------------------------------------------------------


def test_delete_is_a_soft_delete(staff_client: Client, anon: Client) -> None:
    product = ProductFactory()
    response = staff_client.delete(f"/api/products/{product.pk}")
    assert response.status_code == 204
    assert response.content == b""
    row = Product.all_objects.get(pk=product.pk)
    assert row.deleted_at is not None
    assert anon.get(f"/api/products/{product.pk}").status_code == 404
    assert anon.get("/api/products").json()["count"] == 0
    assert staff_client.delete(f"/api/products/{product.pk}").status_code == 404


def test_restore_brings_it_back(staff_client: Client, anon: Client) -> None:
    product = ProductFactory()
    staff_client.delete(f"/api/products/{product.pk}")
    response = staff_client.post(f"/api/products/{product.pk}/restore")
    assert response.status_code == 200
    assert response.json()["id"] == product.pk
    assert anon.get(f"/api/products/{product.pk}").status_code == 200


def test_restore_is_409_when_the_sku_was_taken_meanwhile(staff_client: Client) -> None:
    product = ProductFactory(sku="SAME", slug="first")
    staff_client.delete(f"/api/products/{product.pk}")
    ProductFactory(sku="SAME", slug="second")
    response = staff_client.post(f"/api/products/{product.pk}/restore")
    assert response.status_code == 409
    assert response.json()["field"] == "sku"
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None


def test_restore_is_409_when_the_slug_was_taken_meanwhile(staff_client: Client) -> None:
    product = ProductFactory(sku="ONE", slug="same")
    staff_client.delete(f"/api/products/{product.pk}")
    ProductFactory(sku="TWO", slug="same")
    response = staff_client.post(f"/api/products/{product.pk}/restore")
    assert response.status_code == 409
    assert response.json()["field"] == "slug"


def test_restore_of_a_missing_product_is_404(staff_client: Client) -> None:
    assert staff_client.post("/api/products/987654/restore").status_code == 404


@pytest.mark.parametrize(
    "field", ["name", "slug", "sku", "description", "price", "stock", "is_active"]
)
def test_patch_refuses_null_for_non_nullable_fields(staff_client: Client, field: str) -> None:
    product = ProductFactory()
    response = staff_client.patch(
        f"/api/products/{product.pk}", {field: None}, content_type="application/json"
    )
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_a_creator_sees_the_inactive_product_they_created() -> None:
    from tests.conftest import bearer
    from tests.factories import UserFactory

    client = Client(headers=bearer(UserFactory(perms=["add_product"])))
    response = _post(client, "/api/products", _body(is_active=False))
    assert response.status_code == 201
    assert response.json()["is_active"] is False


def test_a_deleter_can_delete_an_inactive_product() -> None:
    from tests.conftest import bearer
    from tests.factories import UserFactory

    product = ProductFactory(is_active=False)
    client = Client(headers=bearer(UserFactory(perms=["delete_product"])))
    assert client.delete(f"/api/products/{product.pk}").status_code == 204


@pytest.mark.parametrize(
    ("name", "sku", "slug"),
    [
        ("Чайник", "K-1", "чайник"),
        ("电热水壶", "K-2", "电热水壶"),
        ("!!!", "K-3", "k-3"),
        ("!!!", "!", "product"),
    ],
)
def test_slugs_are_derived_from_any_name(
    staff_client: Client, name: str, sku: str, slug: str
) -> None:
    response = _post(staff_client, "/api/products", _body(name=name, sku=sku))
    assert response.status_code == 201
    assert response.json()["slug"] == slug


@pytest.mark.parametrize(
    ("sent", "shown"), [("1E+2", "100.00"), (5, "5.00"), ("19.9", "19.90"), ("-0", "0.00")]
)
def test_prices_are_answered_with_two_places(staff_client: Client, sent: Any, shown: str) -> None:
    created = _post(staff_client, "/api/products", _body(price=sent))
    assert created.status_code == 201
    assert created.json()["price"] == shown
    assert staff_client.get(f"/api/products/{created.json()['id']}").json()["price"] == shown
    patched = staff_client.patch(
        f"/api/products/{created.json()['id']}", {"price": sent}, content_type="application/json"
    )
    assert patched.json()["price"] == shown
