"""``Cache-Control`` on every operation of the OpenAPI document (docs/caching.md's table).

The table is keyed by ``operationId``: an operation added without a row fails
:func:`test_every_operation_is_classified`, so each new one must say how it may be cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from nexus_shop.api import api
from nexus_shop.routers import PURCHASE_ROUTERS
from nexus_shop.routers.purchase import operation_ids
from tests.conftest import bearer
from tests.factories import (
    PASSWORD,
    CategoryFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    refresh_token_for,
)

PUBLIC = "public, max-age=0, must-revalidate"
PRIVATE = "private, max-age=0, must-revalidate"

pytestmark = pytest.mark.django_db


@dataclass
class World:
    anon: Client
    staff: Client
    customer: Client
    customer_user: Any
    product: Any
    category: Any
    empty_category: Any


Call = Callable[[World], Any]


def _json(client: Client, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    return getattr(client, method)(url, data=body or {}, content_type="application/json")


def _refresh(world: World) -> str:
    return str(refresh_token_for(world.customer_user))


def _customer_cart(world: World) -> int:
    """Put the product in the customer's cart; the line's id."""
    response = _json(world.customer, "post", "/api/cart/items", {"product_id": world.product.pk})
    line_id: int = response.json()["lines"][0]["id"]
    return line_id


def _checkout(world: World) -> Any:
    _customer_cart(world)
    return world.customer.post(
        "/api/checkout",
        data={},
        content_type="application/json",
        headers={"Idempotency-Key": "cache-control-test"},
    )


def _order(world: World) -> str:
    number: str = _checkout(world).json()["number"]
    return number


def _order_staff() -> Client:
    return Client(headers=bearer(StaffFactory(perms=["view_order", "change_order"])))


# operationId -> (how to call it successfully, the Cache-Control class of that answer).
# Classes: "public" (anonymous public read), "private" (the same read with credentials),
# "no-store" (everything else: writes, auth, health; "private, no-store" when authenticated).
TABLE: dict[str, list[tuple[Call, str]]] = {
    "health": [(lambda w: w.anon.get("/api/health"), "no-store")],
    "category_list": [
        (lambda w: w.anon.get("/api/categories"), "public"),
        (lambda w: w.staff.get("/api/categories"), "private"),
    ],
    "category_get": [
        (lambda w: w.anon.get(f"/api/categories/{w.category.pk}"), "public"),
        (lambda w: w.customer.get(f"/api/categories/{w.category.pk}"), "private"),
    ],
    "category_create": [
        (lambda w: _json(w.staff, "post", "/api/categories", {"name": "New"}), "no-store")
    ],
    "category_update": [
        (
            lambda w: _json(w.staff, "patch", f"/api/categories/{w.category.pk}", {"name": "X"}),
            "no-store",
        )
    ],
    "category_delete": [
        (lambda w: w.staff.delete(f"/api/categories/{w.empty_category.pk}"), "no-store")
    ],
    "product_list": [
        (lambda w: w.anon.get("/api/products"), "public"),
        (lambda w: w.staff.get("/api/products"), "private"),
    ],
    "product_facets": [
        (lambda w: w.anon.get("/api/products/facets"), "public"),
        (lambda w: w.staff.get("/api/products/facets"), "private"),
    ],
    "product_get": [
        (lambda w: w.anon.get(f"/api/products/{w.product.pk}"), "public"),
        (lambda w: w.staff.get(f"/api/products/{w.product.pk}"), "private"),
    ],
    "product_create": [
        (
            lambda w: _json(
                w.staff,
                "post",
                "/api/products",
                {"name": "N", "sku": "N-1", "price": "1", "stock": 1},
            ),
            "no-store",
        )
    ],
    "product_replace": [
        (
            lambda w: _json(
                w.staff,
                "put",
                f"/api/products/{w.product.pk}",
                {"name": "R", "sku": w.product.sku, "price": "2", "stock": 2},
            ),
            "no-store",
        )
    ],
    "product_update": [
        (
            lambda w: _json(w.staff, "patch", f"/api/products/{w.product.pk}", {"stock": 3}),
            "no-store",
        )
    ],
    "product_delete": [(lambda w: w.staff.delete(f"/api/products/{w.product.pk}"), "no-store")],
    "product_restore": [
        (lambda w: w.staff.post(f"/api/products/{w.product.pk}/restore"), "no-store")
    ],
    "auth_register": [
        (
            lambda w: _json(
                w.anon,
                "post",
                "/api/auth/register",
                {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD},
            ),
            "no-store",
        )
    ],
    "auth_token_obtain": [
        (
            lambda w: _json(
                w.anon,
                "post",
                "/api/auth/token",
                {"username": w.customer_user.username, "password": PASSWORD},
            ),
            "no-store",
        )
    ],
    "auth_token_refresh": [
        (
            lambda w: _json(w.anon, "post", "/api/auth/token/refresh", {"refresh": _refresh(w)}),
            "no-store",
        )
    ],
    "auth_token_verify": [
        (
            lambda w: _json(w.anon, "post", "/api/auth/token/verify", {"token": _refresh(w)}),
            "no-store",
        )
    ],
    "auth_logout": [
        (
            lambda w: _json(w.anon, "post", "/api/auth/logout", {"refresh": _refresh(w)}),
            "no-store",
        )
    ],
    "auth_me": [(lambda w: w.customer.get("/api/auth/me"), "no-store")],
    "auth_password_change": [
        (
            lambda w: _json(
                w.customer,
                "post",
                "/api/auth/password",
                {"old_password": PASSWORD, "new_password": "another-long-passphrase-42"},
            ),
            "no-store",
        )
    ],
    # The purchase path: "private, no-store", whoever asks (tests/purchase checks the exact
    # header of each; here every success must at least never be stored).
    "cart_create": [(lambda w: w.anon.post("/api/cart"), "no-store")],
    "cart_get": [(lambda w: _customer_cart(w) and w.customer.get("/api/cart"), "no-store")],
    "cart_clear": [(lambda w: _customer_cart(w) and w.customer.delete("/api/cart"), "no-store")],
    "cart_add_item": [
        (
            lambda w: _json(w.customer, "post", "/api/cart/items", {"product_id": w.product.pk}),
            "no-store",
        )
    ],
    "cart_update_item": [
        (
            lambda w: _json(
                w.customer, "patch", f"/api/cart/items/{_customer_cart(w)}", {"quantity": 2}
            ),
            "no-store",
        )
    ],
    "cart_remove_item": [
        (lambda w: w.customer.delete(f"/api/cart/items/{_customer_cart(w)}"), "no-store")
    ],
    "checkout": [(_checkout, "no-store")],
    "order_list": [(lambda w: w.customer.get("/api/orders"), "no-store")],
    "order_get": [(lambda w: w.customer.get(f"/api/orders/{_order(w)}"), "no-store")],
    "order_cancel": [(lambda w: w.customer.post(f"/api/orders/{_order(w)}/cancel"), "no-store")],
    "staff_order_list": [(lambda w: _order_staff().get("/api/staff/orders"), "no-store")],
    "staff_order_get": [
        (lambda w: _order_staff().get(f"/api/staff/orders/{_order(w)}"), "no-store")
    ],
    "staff_order_transition": [
        (
            lambda w: _json(
                _order_staff(),
                "post",
                f"/api/staff/orders/{_order(w)}/transition",
                {"status": "paid"},
            ),
            "no-store",
        )
    ],
}


# The purchase path (carts, checkout, orders): every answer, errors included, is
# "private, no-store" (nexus_shop.routers.purchase.purchase_gate). tests/purchase checks each
# flow's successes; here one success, and every operation's error answer below.
PURCHASE_OPERATIONS = operation_ids(*PURCHASE_ROUTERS)
TABLE["cart_create"] = [(lambda w: w.anon.post("/api/cart"), "private, no-store")]


def _operations() -> list[tuple[str, str, str]]:
    schema = api.get_openapi_schema()
    return [
        (op["operationId"], method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    ]


def test_every_operation_is_classified() -> None:
    unclassified = sorted({op for op, _, _ in _operations()} - set(TABLE) - PURCHASE_OPERATIONS)
    assert not unclassified, f"add these operations to TABLE (and docs/caching.md): {unclassified}"


@pytest.fixture
def world(db: None) -> World:
    customer_user = UserFactory()
    category = CategoryFactory()
    return World(
        anon=Client(),
        staff=Client(headers=bearer(StaffFactory())),
        customer=Client(headers=bearer(customer_user)),
        customer_user=customer_user,
        product=ProductFactory(category=category),
        category=category,
        empty_category=CategoryFactory(),
    )


@pytest.mark.parametrize("operation_id", sorted(TABLE))
def test_cache_control_of_successes(world: World, operation_id: str) -> None:
    for call, expected in TABLE[operation_id]:
        response = call(world)
        assert response.status_code < 300, (operation_id, response.status_code, response.content)
        header = response["Cache-Control"]
        if expected == "public":
            assert header == PUBLIC
            assert response["Vary"] == "Authorization"
            assert response["ETag"].startswith('"')
        elif expected == "private":
            assert header == PRIVATE
            assert response["Vary"] == "Authorization"
        elif expected == "private, no-store":
            assert header == "private, no-store"
        else:
            assert "no-store" in header, (operation_id, header)
            assert "public" not in header


@pytest.mark.parametrize(
    ("operation_id", "method", "path"),
    # /health has no error answer short of a database outage: tests/routers/test_health.py.
    [op for op in _operations() if op[0] != "health"],
)
def test_errors_are_never_cached(world: World, operation_id: str, method: str, path: str) -> None:
    url = path.replace("{product_id}", "999999999").replace("{category_id}", "999999999")
    url = url.replace("{line_id}", "999999999").replace("{number}", "999999999")
    client = Client(headers={"Authorization": "Bearer not-a-token"})
    if method == "GET":
        response = client.get(url)
    else:
        response = getattr(client, method.lower())(url, data="{", content_type="application/json")
    assert response.status_code >= 400, (operation_id, response.status_code)
    expected = "private, no-store" if operation_id in PURCHASE_OPERATIONS else "no-store"
    assert response["Cache-Control"] == expected
