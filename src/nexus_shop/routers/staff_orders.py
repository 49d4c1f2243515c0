"""Staff view of every order and the status changes: ``nexus_shop.view_order`` /
``nexus_shop.change_order``. Parse, check the permission, make one call, return."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from nexus_shop.routers.purchase import (
    BAD_TRANSITION,
    FORBIDDEN,
    NO_ORDER,
    ORDER_EXAMPLE,
    UNAUTHENTICATED,
    examples,
    purchase_gate,
)
from nexus_shop.schemas.common import ErrorOut, PageOut
from nexus_shop.schemas.orders import OrderTransitionIn, StaffOrderFilter, StaffOrderOut
from nexus_shop.security import require_perm, write_auth
from nexus_shop.selectors import orders as selectors
from nexus_shop.services import orders as services

router = Router(tags=["staff orders"])
router.add_decorator(purchase_gate, mode="view")

STAFF_ORDER_EXAMPLE = {**ORDER_EXAMPLE, "user_id": 7}


@router.get(
    "/staff/orders",
    auth=write_auth,
    response={200: PageOut[StaffOrderOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="staff_order_list",
    url_name="staff-order-list",
    summary="Every order, filtered",
    description="Needs `nexus_shop.view_order`. Newest first; filters combine. `user` is a "
    "user id; `created_after` is inclusive, `created_before` exclusive.",
    openapi_extra=examples(s401=UNAUTHENTICATED, s403=FORBIDDEN),
)
def staff_order_list(request: HttpRequest, filters: Query[StaffOrderFilter]) -> Any:
    require_perm(request, "nexus_shop.view_order")
    return selectors.staff_order_list(
        status=filters.status,
        created_after=filters.created_after,
        created_before=filters.created_before,
        user_id=filters.user,
        page=filters.page,
        page_size=filters.page_size,
        cursor=filters.cursor,
    )


@router.get(
    "/staff/orders/{number}",
    auth=write_auth,
    response={200: StaffOrderOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    operation_id="staff_order_get",
    url_name="staff-order-detail",
    summary="Any order",
    description="Needs `nexus_shop.view_order`.",
    openapi_extra=examples(
        s200=STAFF_ORDER_EXAMPLE, s401=UNAUTHENTICATED, s403=FORBIDDEN, s404=NO_ORDER
    ),
)
def staff_order_get(request: HttpRequest, number: str) -> Any:
    require_perm(request, "nexus_shop.view_order")
    return selectors.staff_order_get(number=number)


@router.post(
    "/staff/orders/{number}/transition",
    auth=write_auth,
    response={
        200: StaffOrderOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    operation_id="staff_order_transition",
    url_name="staff-order-transition",
    summary="Change an order's status",
    description="Needs `nexus_shop.change_order`. `pending_payment -> paid -> fulfilled`, "
    "and `pending_payment | paid -> cancelled`; anything else is a 409. Cancelling returns "
    "the stock; cancelling a paid order calls the payment provider's refund hook first.",
    openapi_extra=examples(
        s200={**STAFF_ORDER_EXAMPLE, "status": "paid"},
        s401=UNAUTHENTICATED,
        s403={**FORBIDDEN, "detail": "You need the 'nexus_shop.change_order' permission."},
        s404=NO_ORDER,
        s409=BAD_TRANSITION,
    ),
)
def staff_order_transition(request: HttpRequest, number: str, payload: OrderTransitionIn) -> Any:
    require_perm(request, "nexus_shop.change_order")
    order = services.order_transition(
        number=number,
        to=payload.status,
        actor=request.auth,  # type: ignore[attr-defined]  # set by ninja's auth
    )
    return selectors.order_get_by_id(order_id=order.pk)
