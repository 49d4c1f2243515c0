"""Every write operation x anonymous / customer / staff, with real JWTs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import bearer
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

Op = Callable[[Client], Any]


def _ops() -> dict[str, tuple[Op, int, str]]:
    """name -> (call, success status, permission needed)."""

    def json(method: str, path: Callable[[], str], body: dict[str, Any] | None = None) -> Op:
        return lambda c: getattr(c, method)(path(), body or {}, content_type="application/json")

    return {
        "category_create": (
            json("post", lambda: "/api/categories", {"name": "New"}),
            201,
            "add_category",
        ),
        "category_update": (
            json("patch", lambda: f"/api/categories/{CategoryFactory().pk}", {"name": "N"}),
            200,
            "change_category",
        ),
        "category_delete": (
            lambda c: c.delete(f"/api/categories/{CategoryFactory().pk}"),
            204,
            "delete_category",
        ),
        "category_restore": (
            lambda c: c.post(
                f"/api/categories/{CategoryFactory(deleted_at='2026-01-01T00:00Z').pk}/restore"
            ),
            200,
            "delete_category",
        ),
        "product_create": (
            json(
                "post", lambda: "/api/products", {"name": "P", "sku": "S", "price": "1", "stock": 1}
            ),
            201,
            "add_product",
        ),
        "product_replace": (
            json(
                "put",
                lambda: f"/api/products/{ProductFactory().pk}",
                {"name": "P", "sku": "S2", "price": "1", "stock": 1},
            ),
            200,
            "change_product",
        ),
        "product_update": (
            json("patch", lambda: f"/api/products/{ProductFactory().pk}", {"stock": 9}),
            200,
            "change_product",
        ),
        "product_delete": (
            lambda c: c.delete(f"/api/products/{ProductFactory().pk}"),
            204,
            "delete_product",
        ),
        "product_restore": (
            lambda c: c.post(
                f"/api/products/{ProductFactory(deleted_at='2026-01-01T00:00Z').pk}/restore"
            ),
            200,
            "delete_product",
        ),
    }


OPS = list(_ops())


@pytest.mark.parametrize("op", OPS)
def test_anonymous_gets_401(op: str) -> None:
    call, _, _ = _ops()[op]
    response = call(Client())
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.parametrize("op", OPS)
def test_a_bad_token_gets_401(op: str) -> None:
    call, _, _ = _ops()[op]
    assert call(Client(headers={"Authorization": "Bearer not-a-jwt"})).status_code == 401


@pytest.mark.parametrize("op", OPS)
def test_customer_without_the_permission_gets_403(op: str) -> None:
    call, _, _ = _ops()[op]
    response = call(Client(headers=bearer(UserFactory())))
    assert response.status_code == 403
    assert "permission" in response.json()["detail"]


@pytest.mark.parametrize("op", OPS)
def test_staff_with_the_permission_succeed(op: str) -> None:
    call, status, _ = _ops()[op]
    assert call(Client(headers=bearer(StaffFactory()))).status_code == status


@pytest.mark.parametrize("op", OPS)
def test_exactly_the_named_permission_is_enough(op: str) -> None:
    call, status, perm = _ops()[op]
    user = UserFactory(perms=[perm])
    assert call(Client(headers=bearer(user))).status_code == status
    others = [p for p in ("add", "change", "delete") if not perm.startswith(p)]
    model = perm.split("_", 1)[1]
    other_user = UserFactory(perms=[f"{p}_{model}" for p in others])
    assert call(Client(headers=bearer(other_user))).status_code == 403


@pytest.mark.parametrize("op", OPS)
def test_superusers_hold_every_permission(op: str) -> None:
    call, status, _ = _ops()[op]
    admin = UserFactory(is_superuser=True)
    assert call(Client(headers=bearer(admin))).status_code == status


def test_reads_are_public() -> None:
    product = ProductFactory()
    category = CategoryFactory()
    client = Client()
    for path in [
        "/api/products",
        f"/api/products/{product.pk}",
        "/api/categories",
        f"/api/categories/{category.pk}",
    ]:
        assert client.get(path).status_code == 200


def test_every_401_says_why_and_challenges() -> None:
    missing = Client().post("/api/categories", {"name": "x"}, content_type="application/json")
    invalid = Client(headers={"Authorization": "Bearer nope"}).post(
        "/api/categories", {"name": "x"}, content_type="application/json"
    )
    assert missing.json() == {
        "detail": "Authentication credentials were not provided.",
        "errors": [],
    }
    assert invalid.json() == {"detail": "Given token is not valid.", "errors": []}
    for response in (missing, invalid):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("perms", "staff"),
    [
        (["add_product"], True),
        (["change_product"], True),
        (["delete_product"], True),
        (["view_product"], False),
        (["add_category", "change_category", "delete_category"], False),
        ([], False),
    ],
)
def test_catalogue_reads_show_hidden_products_to_catalogue_staff_only(
    perms: list[str], staff: bool
) -> None:
    """Each product write permission alone makes catalogue staff (``is_catalogue_staff``);
    no other permission, nor ``is_staff``, does."""
    inactive = ProductFactory(is_active=False)
    deleted = ProductFactory(deleted_at="2026-01-01T00:00Z")
    client = Client(headers=bearer(StaffFactory(perms=perms)))

    listed = client.get("/api/products?include_deleted=true").json()["items"]
    detail = client.get(f"/api/products/{inactive.pk}")
    deleted_detail = client.get(f"/api/products/{deleted.pk}?include_deleted=true")

    assert {item["id"] for item in listed} == ({inactive.pk, deleted.pk} if staff else set())
    assert (detail.status_code, deleted_detail.status_code) == ((200, 200) if staff else (404, 404))


@pytest.mark.parametrize(
    ("perms", "staff"),
    [
        (["add_category"], True),
        (["change_category"], True),
        (["delete_category"], True),
        (["view_category"], False),
        (["add_product", "change_product", "delete_product"], False),
        ([], False),
    ],
)
def test_category_reads_show_deleted_categories_to_category_staff_only(
    perms: list[str], staff: bool
) -> None:
    """Each category write permission alone makes category staff (``is_category_staff``);
    no other permission, nor ``is_staff``, does."""
    live = CategoryFactory()
    deleted = CategoryFactory(deleted_at="2026-01-01T00:00Z")
    client = Client(headers=bearer(StaffFactory(perms=perms)))

    listed = client.get("/api/categories?include_deleted=true").json()["items"]
    detail = client.get(f"/api/categories/{deleted.pk}?include_deleted=true")

    assert {item["id"] for item in listed} == ({live.pk, deleted.pk} if staff else {live.pk})
    assert detail.status_code == (200 if staff else 404)
