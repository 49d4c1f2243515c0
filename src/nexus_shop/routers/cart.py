"""Cart endpoints: parse, make one call, return the whole cart. Errors are mapped in ``api``.

Anyone may hold a cart: anonymous callers by the ``X-Cart-Token`` header (never a URL or a
cookie: it is a bearer secret), users by their token, with an anonymous cart they send
merged into theirs.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from nexus_shop.models.orders import MAX_LINE_QUANTITY
from nexus_shop.routers.purchase import (
    CART_EXAMPLE,
    CHOOSE_VARIANT,
    NEW_CART_EXAMPLE,
    NO_CART,
    NO_LINE,
    UNAUTHENTICATED,
    CartToken,
    examples,
    purchase_gate,
)
from nexus_shop.schemas.common import ErrorOut
from nexus_shop.schemas.orders import CartLineIn, CartLinePatch, CartOut
from nexus_shop.security import read_auth
from nexus_shop.selectors.cart import CartView, cart_view
from nexus_shop.services import cart as services

router = Router(tags=["cart"])
router.add_decorator(purchase_gate, mode="view")

ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
BODY_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}  # 400: a body that is not JSON


def _holder(request: HttpRequest, token: str | None) -> services.Holder:
    user = getattr(request, "auth", None)
    return services.Holder(
        user=user if user is not None and user.is_authenticated else None, token=token or None
    )


def _view(cart_id: int) -> CartView:
    return cart_view(cart_id=cart_id)


@router.post(
    "/cart",
    auth=read_auth,
    response={200: CartOut, 201: CartOut, 401: ErrorOut, 422: ErrorOut},
    operation_id="cart_create",
    url_name="cart-create",
    summary="Start a cart (or get yours)",
    description="Anonymous: 201 with a new cart and its `token` (shown once; send it as "
    "`X-Cart-Token`). Authenticated: your cart, 200 if you had one, else 201; an anonymous "
    "cart named by `X-Cart-Token` is merged into it and its token stops working.",
    openapi_extra=examples(s200=CART_EXAMPLE, s201=NEW_CART_EXAMPLE, s401=UNAUTHENTICATED),
)
def cart_create(request: HttpRequest, x_cart_token: CartToken = "") -> Any:
    result = services.cart_create(holder=_holder(request, x_cart_token))
    view = cart_view(cart_id=result.cart.pk, token=result.token)
    return Status(201 if result.created else 200, view)


@router.get(
    "/cart",
    auth=read_auth,
    response={200: CartOut, **ERRORS},
    operation_id="cart_get",
    url_name="cart-detail",
    summary="Get your cart",
    description="Live prices and stock. 404 when you have no cart or the token is unknown.",
    openapi_extra=examples(s200=CART_EXAMPLE, s404=NO_CART, s401=UNAUTHENTICATED),
)
def cart_get(
    request: HttpRequest,
    x_cart_token: CartToken = "",
) -> Any:
    return _view(services.cart_get(holder=_holder(request, x_cart_token)).pk)


@router.delete(
    "/cart",
    auth=read_auth,
    response={204: None, **ERRORS},
    operation_id="cart_clear",
    url_name="cart-clear",
    summary="Empty your cart",
    openapi_extra=examples(s404=NO_CART, s401=UNAUTHENTICATED),
)
def cart_clear(
    request: HttpRequest,
    x_cart_token: CartToken = "",
) -> Any:
    services.cart_clear(holder=_holder(request, x_cart_token))
    return Status(204, None)


@router.post(
    "/cart/items",
    auth=read_auth,
    response={200: CartOut, **BODY_ERRORS},
    operation_id="cart_add_item",
    url_name="cart-add-item",
    summary="Add a variant to your cart",
    description="Send `variant_id`, or `product_id` for a product with a single variant "
    "(exactly one of the two). A variant already in the cart adds to its quantity (at most "
    f"{MAX_LINE_QUANTITY} a line). "
    "An unknown, deleted or inactive variant or product is a 422; so is a `product_id` of a "
    "product with several variants, whose error lists them in `variant_ids`. Stock is "
    "checked at checkout; the cart shows `available` and `insufficient_stock` meanwhile. A "
    "user without a cart gets one.",
    openapi_extra=examples(
        s200=CART_EXAMPLE, s404=NO_CART, s422=CHOOSE_VARIANT, s401=UNAUTHENTICATED
    ),
)
def cart_add_item(
    request: HttpRequest,
    payload: CartLineIn,
    x_cart_token: CartToken = "",
) -> Any:
    cart = services.cart_add_item(
        holder=_holder(request, x_cart_token),
        variant_id=payload.variant_id,
        product_id=payload.product_id,
        quantity=payload.quantity,
    )
    return _view(cart.pk)


@router.patch(
    "/cart/items/{line_id}",
    auth=read_auth,
    response={200: CartOut, **BODY_ERRORS},
    operation_id="cart_update_item",
    url_name="cart-update-item",
    summary="Change a line's quantity",
    description=f"`quantity` is 1 to {MAX_LINE_QUANTITY}. A line of another cart is a 404.",
    openapi_extra=examples(s200=CART_EXAMPLE, s404=NO_LINE, s401=UNAUTHENTICATED),
)
def cart_update_item(
    request: HttpRequest,
    line_id: int,
    payload: CartLinePatch,
    x_cart_token: CartToken = "",
) -> Any:
    cart = services.cart_update_item(
        holder=_holder(request, x_cart_token), line_id=line_id, quantity=payload.quantity
    )
    return _view(cart.pk)


@router.delete(
    "/cart/items/{line_id}",
    auth=read_auth,
    response={200: CartOut, **ERRORS},
    operation_id="cart_remove_item",
    url_name="cart-remove-item",
    summary="Remove a line",
    description="A line of another cart is a 404.",
    openapi_extra=examples(s200=CART_EXAMPLE, s404=NO_LINE, s401=UNAUTHENTICATED),
)
def cart_remove_item(
    request: HttpRequest,
    line_id: int,
    x_cart_token: CartToken = "",
) -> Any:
    cart = services.cart_remove_item(holder=_holder(request, x_cart_token), line_id=line_id)
    return _view(cart.pk)
