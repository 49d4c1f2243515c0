"""Checkout and the caller's orders: parse, make one call, return. Errors are mapped in ``api``."""

from __future__ import annotations

import re
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.params.functions import Header

from nexus_shop import instruments, tracing
from nexus_shop.exceptions import OutOfStock, PreconditionRequired, ValidationFailed
from nexus_shop.routers.purchase import (
    EMPTY_CART,
    KEY_REQUIRED,
    NO_ORDER,
    NOT_CANCELLABLE,
    ORDER_EXAMPLE,
    OUT_OF_STOCK,
    UNAUTHENTICATED,
    CartToken,
    examples,
    purchase_gate,
)
from nexus_shop.schemas.catalog import PageParams
from nexus_shop.schemas.common import ErrorOut, PageOut
from nexus_shop.schemas.orders import CheckoutIn, OrderOut
from nexus_shop.security import write_auth
from nexus_shop.selectors import orders as selectors
from nexus_shop.services import checkout as checkout_services
from nexus_shop.services import orders as services

router = Router(tags=["orders"])
router.add_decorator(purchase_gate, mode="view")

IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# Declared required in the OpenAPI document (nexus_shop.openapi), but "" to ninja: a
# missing key is the API's 428 (idempotency_key below), not ninja's 422.
IdempotencyKey = Annotated[
    str,
    Header(
        "",
        alias=IDEMPOTENCY_KEY_HEADER,
        description="Required (428 without). A unique value per checkout attempt, e.g. a "
        "UUID; send the same one to retry.",
    ),
]


def idempotency_key(value: str) -> str:
    """The ``Idempotency-Key`` header: 428 when missing, 422 unless 1-255 printable ASCII."""
    if not value.strip():
        raise PreconditionRequired(str(KEY_REQUIRED["detail"]))
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            extra={"field": "Idempotency-Key"},
        )
    return value


@router.post(
    "/checkout",
    auth=write_auth,
    response={
        201: OrderOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        428: ErrorOut,
    },
    operation_id="checkout",
    url_name="checkout",
    summary="Place an order from your cart",
    description="Needs an `Idempotency-Key` header (1 to 255 printable characters; 428 "
    "without): a retry with the same key gets the same answer and never a second order; "
    "a duplicate sent while the first still runs waits for it. The same key with another "
    "body or cart is a 422; keys are yours alone and expire after "
    "`NEXUS_SHOP_IDEMPOTENCY_KEY_TTL` (24 h). An anonymous cart named by `X-Cart-Token` "
    "is merged into yours first. 422 when the cart is empty; 409 with `lines` when any "
    "line lacks stock, and then nothing is ordered and no stock changes.",
    openapi_extra=examples(
        s201=ORDER_EXAMPLE,
        s401=UNAUTHENTICATED,
        s409=OUT_OF_STOCK,
        s422=EMPTY_CART,
        s428=KEY_REQUIRED,
    ),
)
def checkout(
    request: HttpRequest,
    payload: CheckoutIn | None = None,
    idempotency_key_header: IdempotencyKey = "",
    x_cart_token: CartToken = "",
) -> Any:
    outcome = "failed"
    # One span per checkout (its stock step a child: services.checkout), by outcome.
    with tracing.span("checkout") as span:
        try:
            try:
                key = idempotency_key(idempotency_key_header)
            except PreconditionRequired:
                outcome = "key_missing"
                raise
            body = payload or CheckoutIn()
            try:
                result = checkout_services.checkout(
                    user=request.auth,  # type: ignore[attr-defined]  # set by ninja's auth
                    cart_token=x_cart_token or None,
                    idempotency_key=key,
                    email=body.email,
                    shipping_address=(
                        body.shipping_address.model_dump()
                        if body.shipping_address is not None
                        else None
                    ),
                )
            except OutOfStock:
                outcome = "out_of_stock"
                raise
            outcome = "replayed" if result.replayed else "created"
        finally:
            instruments.count(instruments.CHECKOUTS, outcome)
            span.set("outcome", outcome)
    return Status(result.status, result.body)


@router.get(
    "/orders",
    auth=write_auth,
    response={200: PageOut[OrderOut], 401: ErrorOut, 422: ErrorOut},
    operation_id="order_list",
    url_name="order-list",
    summary="Your orders, newest first",
    description="The same envelope and pagination modes as the product list.",
    openapi_extra=examples(s401=UNAUTHENTICATED),
)
def order_list(request: HttpRequest, params: Query[PageParams]) -> Any:
    return selectors.order_list(
        user=request.auth,  # type: ignore[attr-defined]  # set by ninja's auth
        page=params.page,
        page_size=params.page_size,
        cursor=params.cursor,
    )


@router.get(
    "/orders/{number}",
    auth=write_auth,
    response={200: OrderOut, 401: ErrorOut, 404: ErrorOut},
    operation_id="order_get",
    url_name="order-detail",
    summary="One of your orders",
    description="Another user's order is a 404, exactly like a missing one.",
    openapi_extra=examples(s200=ORDER_EXAMPLE, s401=UNAUTHENTICATED, s404=NO_ORDER),
)
def order_get(request: HttpRequest, number: str) -> Any:
    return selectors.order_get(user=request.auth, number=number)  # type: ignore[attr-defined]  # set by ninja's auth


@router.post(
    "/orders/{number}/cancel",
    auth=write_auth,
    response={200: OrderOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="order_cancel",
    url_name="order-cancel",
    summary="Cancel your order",
    description="Only while `pending_payment` (else 409); the stock is returned, once.",
    openapi_extra=examples(
        s200={
            **ORDER_EXAMPLE,
            "status": "cancelled",
            "events": [
                {"status": "pending_payment", "at": "2026-11-29T10:15:00Z"},
                {"status": "cancelled", "at": "2026-11-29T10:20:00Z"},
            ],
        },
        s401=UNAUTHENTICATED,
        s404=NO_ORDER,
        s409=NOT_CANCELLABLE,
    ),
)
def order_cancel(request: HttpRequest, number: str) -> Any:
    order = services.order_cancel(number=number, user=request.auth)  # type: ignore[attr-defined]  # set by ninja's auth
    return selectors.order_get_by_id(order_id=order.pk)
