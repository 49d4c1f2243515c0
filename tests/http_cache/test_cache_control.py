"""``Cache-Control`` on every operation of the OpenAPI document (docs/caching.md's table).

The table is keyed by ``operationId``: an operation added without a row fails
:func:`test_every_operation_is_classified`, so each new one must say how it may be cached.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from nexus_shop.api import api
from nexus_shop.routers import PURCHASE_ROUTERS, webhooks_router
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
from tests.support import webhook_rows

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
    "health_live": [(lambda w: w.anon.get("/api/health/live"), "no-store")],
    "health_ready": [(lambda w: w.anon.get("/api/health/ready"), "no-store")],
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
    "category_restore": [
        (lambda w: w.staff.post(f"/api/categories/{w.category.pk}/restore"), "no-store")
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


def _tee(world: World) -> int:
    """A product with an option and two variants (a product without options has one)."""
    response = _json(
        world.staff,
        "post",
        "/api/products",
        {
            "name": "Tee",
            "sku": "TEE",
            "options": [{"name": "Size", "values": ["S", "M", "L"]}],
            "variants": [
                {"sku": "TEE-S", "options": {"Size": "S"}, "price": "1", "stock": 1},
                {"sku": "TEE-M", "options": {"Size": "M"}, "price": "1", "stock": 1},
            ],
        },
    )
    product_id: int = response.json()["id"]
    return product_id


def _variant_of(world: World) -> str:
    """The path of ``world.product``'s default variant."""
    return f"/api/products/{world.product.pk}/variants/{world.product.variants.get().pk}"


TABLE["variant_create"] = [
    (
        lambda w: _json(
            w.staff,
            "post",
            f"/api/products/{_tee(w)}/variants",
            {"sku": "TEE-L", "options": {"Size": "L"}, "price": "1", "stock": 1},
        ),
        "no-store",
    )
]
TABLE["variant_update"] = [
    (lambda w: _json(w.staff, "patch", _variant_of(w), {"stock_delta": 1}), "no-store")
]


def _delete_a_variant(world: World) -> Any:
    product_id = _tee(world)
    variant_id = world.staff.get(f"/api/products/{product_id}").json()["variants"][0]["id"]
    return world.staff.delete(f"/api/products/{product_id}/variants/{variant_id}")


TABLE["variant_delete"] = [(_delete_a_variant, "no-store")]
TABLE["variant_restore"] = [(lambda w: w.staff.post(f"{_variant_of(w)}/restore"), "no-store")]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


def _upload(world: World) -> Any:
    upload = SimpleUploadedFile("red.png", _png(), content_type="image/png")
    return world.staff.post(f"/api/products/{world.product.pk}/images", {"file": upload})


def _image_path(world: World) -> str:
    image_id = _upload(world).json()["id"]
    return f"/api/products/{world.product.pk}/images/{image_id}"


TABLE["image_create"] = [(_upload, "no-store")]
TABLE["image_update"] = [
    (lambda w: _json(w.staff, "patch", _image_path(w), {"alt": "A red square"}), "no-store")
]
TABLE["image_delete"] = [(lambda w: w.staff.delete(_image_path(w)), "no-store")]


# The purchase path (carts, checkout, orders): every answer, errors included, is
# "private, no-store" (nexus_shop.routers.purchase.purchase_gate). tests/purchase checks each
# flow's successes; here one success, and every operation's error answer below.
PURCHASE_OPERATIONS = operation_ids(*PURCHASE_ROUTERS)
TABLE["cart_create"] = [(lambda w: w.anon.post("/api/cart"), "private, no-store")]


# Webhooks: every answer, errors included, is "private, no-store" (endpoints hold secrets,
# events hold orders; nexus_shop.routers.webhooks.private_answers).
WEBHOOK_OPERATIONS = operation_ids(webhooks_router)


def _webhooks() -> Client:
    return Client(headers=bearer(StaffFactory(perms=["manage_webhooks"])))


def _endpoint(world: World) -> str:
    return f"/api/webhooks/{webhook_rows.endpoint().pk}"


def _redeliver(world: World) -> Any:
    endpoint = webhook_rows.endpoint()
    delivery = webhook_rows.delivery(endpoint, webhook_rows.event(), status="failed")
    return _webhooks().post(f"/api/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")


_RECEIVER = {"url": webhook_rows.RECEIVER, "events": ["*"]}
_SINCE = {"since": "2026-01-01T00:00:00Z"}
_WEBHOOK_CALLS: dict[str, Call] = {
    "webhook_create": lambda w: _json(_webhooks(), "post", "/api/webhooks", _RECEIVER),
    "webhook_list": lambda w: _webhooks().get("/api/webhooks"),
    "webhook_event_types": lambda w: _webhooks().get("/api/webhooks/event-types"),
    "webhook_events": lambda w: _webhooks().get("/api/webhooks/events"),
    "webhook_get": lambda w: _webhooks().get(_endpoint(w)),
    "webhook_update": lambda w: _json(_webhooks(), "patch", _endpoint(w), {"description": "x"}),
    "webhook_delete": lambda w: _webhooks().delete(_endpoint(w)),
    "webhook_rotate_secret": lambda w: _webhooks().post(f"{_endpoint(w)}/rotate-secret"),
    "webhook_ping": lambda w: _webhooks().post(f"{_endpoint(w)}/ping"),
    "webhook_delivery_list": lambda w: _webhooks().get(f"{_endpoint(w)}/deliveries"),
    "webhook_redeliver": _redeliver,
    "webhook_redeliver_since": lambda w: _json(
        _webhooks(), "post", f"{_endpoint(w)}/redeliver", _SINCE
    ),
}
TABLE.update({name: [(call, "private, no-store")] for name, call in _WEBHOOK_CALLS.items()})


def _operations() -> list[tuple[str, str, str]]:
    schema = api.get_openapi_schema()
    return [
        (op["operationId"], method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
        if method != "head"  # a HEAD answers with its GET's headers (tests/test_head.py)
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
    # The health reads have no error answer short of a database outage (and live none at
    # all): tests/routers/test_health.py.
    [op for op in _operations() if op[0] not in {"health", "health_live", "health_ready"}],
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
    private = PURCHASE_OPERATIONS | WEBHOOK_OPERATIONS
    expected = "private, no-store" if operation_id in private else "no-store"
    assert response["Cache-Control"] == expected
