"""What every purchase-path endpoint shares: the on/off switch and private caching.

:func:`purchase_gate` is added to the cart, checkout and order routers as a "view"
decorator, so it runs before authentication: with ``NEXUS_SHOP_PURCHASE_ENABLED = False``
every one of their endpoints answers 404, whoever asks. Every answer, errors included, is
``Cache-Control: private, no-store``: carts and orders are one person's and must never be
kept by a shared cache (or by the browser's, for that matter).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from ninja import Router
from ninja.params.functions import Header

from nexus_shop.conf import conf
from nexus_shop.exceptions import FeatureDisabled
from nexus_shop.http_cache.headers import PRIVATE_NO_STORE

PRIVATE = PRIVATE_NO_STORE

# Headers are plain strings, "" when absent (not ``str | None``: the OpenAPI of an optional
# header is then a simple string, which clients and fuzzers handle without anyOf).
CartToken = Annotated[
    str,
    Header(
        "",
        alias="X-Cart-Token",
        description="An anonymous cart's token, from the answer that created the cart.",
    ),
]
DISABLED = "The purchase path (carts, checkout, orders) is switched off."


def private_answers(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A view decorator: every answer ``private, no-store``, errors (the 401 before
    authentication too) included. Carts, orders and webhooks are one account's."""

    @functools.wraps(run)
    def private(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = run(request, *args, **kwargs)
        response["Cache-Control"] = PRIVATE
        return response

    return private


def purchase_gate(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """404 (``FeatureDisabled``) while ``NEXUS_SHOP_PURCHASE_ENABLED`` is off; every
    answer private (:func:`private_answers`)."""

    @private_answers
    @functools.wraps(run)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not conf.PURCHASE_ENABLED:
            operation = getattr(run, "__self__", None)
            api = getattr(operation, "api", None)
            if api is not None:
                response: HttpResponseBase = api.on_exception(request, FeatureDisabled(DISABLED))
                return response
            return JsonResponse(
                {"detail": DISABLED}, status=404
            )  # pragma: no cover  (ninja binds run to its operation)
        return run(request, *args, **kwargs)

    return gated


def operation_ids(*routers: Router) -> set[str]:
    """The OpenAPI operation ids of ``routers`` (left out of the document when switched off)."""
    ids: set[str] = set()
    for router in routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                if operation.operation_id:
                    ids.add(operation.operation_id)
    return ids


def examples(**by_status: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` giving each status (``s404=...``) a realistic JSON example."""
    return {
        "responses": {
            int(name.removeprefix("s")): {"content": {"application/json": {"example": body}}}
            for name, body in by_status.items()
        }
    }


CART_EXAMPLE: dict[str, Any] = {
    "id": 41,
    "lines": [
        {
            "id": 7,
            "product_id": 12,
            "variant_id": 31,
            "name": "Espresso cup",
            "sku": "CUP-ESP-01-WHITE",
            "options": {"Colour": "White"},
            "unit_price": "9.50",
            "quantity": 2,
            "line_total": "19.00",
            "available": 14,
            "insufficient_stock": False,
        }
    ],
    "subtotal": "19.00",
    "currency": "USD",
}
NEW_CART_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "token": "l8Yt0p1fV3s9xQeZk2mWnR7cB4hJ6aD5uE1oI0yT9gS",
    "lines": [],
    "subtotal": "0.00",
    "currency": "USD",
}
ORDER_EXAMPLE: dict[str, Any] = {
    "number": "100042",
    "status": "pending_payment",
    "lines": [
        {
            "product_id": 12,
            "variant_id": 31,
            "name": "Espresso cup",
            "sku": "CUP-ESP-01-WHITE",
            "options": {"Colour": "White"},
            "unit_price": "9.50",
            "quantity": 2,
            "line_total": "19.00",
        }
    ],
    "subtotal": "19.00",
    "shipping": "0.00",
    "tax": "0.00",
    "total": "19.00",
    "currency": "USD",
    "created_at": "2026-11-29T10:15:00Z",
    "events": [{"status": "pending_payment", "at": "2026-11-29T10:15:00Z"}],
    "email": "ada@example.com",
}
NO_CART: dict[str, Any] = {"detail": "No cart for this X-Cart-Token.", "errors": []}
NO_LINE: dict[str, Any] = {"detail": "No line 7 in your cart.", "errors": []}
NO_ORDER: dict[str, Any] = {"detail": "No order 100042.", "errors": []}
UNAUTHENTICATED: dict[str, Any] = {
    "detail": "Authentication credentials were not provided.",
    "errors": [],
}
FORBIDDEN: dict[str, Any] = {
    "detail": "You need the 'nexus_shop.view_order' permission.",
    "errors": [],
}
CHOOSE_VARIANT: dict[str, Any] = {
    "detail": "Product 12 has 3 variants for sale; add one of them by variant_id.",
    "errors": [
        {
            "loc": ["body", "product_id"],
            "msg": "Product 12 has 3 variants for sale; add one of them by variant_id.",
            "type": "invalid",
        }
    ],
    "field": "product_id",
    "variant_ids": [31, 32, 33],
}
EMPTY_CART: dict[str, Any] = {"detail": "Your cart is empty.", "errors": []}
OUT_OF_STOCK: dict[str, Any] = {
    "detail": "Not enough stock for 1 product in your cart; nothing was ordered.",
    "errors": [],
    "lines": [{"product_id": 12, "variant_id": 31, "requested": 2, "available": 1}],
}
KEY_REQUIRED: dict[str, Any] = {
    "detail": "Send an Idempotency-Key header (1 to 255 printable characters) with each "
    "checkout; reuse it when you retry.",
    "errors": [],
}
NOT_CANCELLABLE: dict[str, Any] = {
    "detail": "Order 100042 is paid; only an order awaiting payment can be cancelled by its owner.",
    "errors": [],
}
BAD_TRANSITION: dict[str, Any] = {
    "detail": "Order 100042 is cancelled; it cannot become paid.",
    "errors": [],
}


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def used_schemas(paths: Any, schemas: dict[str, Any]) -> set[str]:
    """The components ``paths`` reference, directly or through other components."""
    used: set[str] = set()
    _refs(paths, used)
    pending = list(used)
    while pending:  # schemas referenced by the schemas in use
        nested: set[str] = set()
        _refs(schemas.get(pending.pop(), {}), nested)
        for extra in nested - used:
            used.add(extra)
            pending.append(extra)
    return used


def drop_operations(schema: Any, ids: set[str]) -> None:
    """Remove the operations ``ids`` from an OpenAPI document, and the schemas only they used."""
    paths: dict[str, Any] = schema.get("paths", {})
    schemas: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    used_before = used_schemas(paths, schemas)
    for path in list(paths):
        methods = paths[path]
        for method in list(methods):
            if isinstance(methods[method], dict) and methods[method].get("operationId") in ids:
                del methods[method]
        if not any(isinstance(v, dict) and "operationId" in v for v in methods.values()):
            del paths[path]
    for name in used_before - used_schemas(paths, schemas):
        schemas.pop(name, None)
