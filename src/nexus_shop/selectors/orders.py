"""Reads of orders: who sees which order is decided here, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from nexus_shop.exceptions import NotFound
from nexus_shop.models import Order
from nexus_shop.models.orders import is_order_number
from nexus_shop.schemas.params import default_of
from nexus_shop.selectors.pagination import Page, PageRequest, SortKey, paginate

NEWEST_FIRST = SortKey("-created_at", "created_at", descending=True, kind="datetime")


def _orders() -> QuerySet[Order]:
    return Order.objects.prefetch_related("lines", "events")


def _owned_by(user: Any) -> QuerySet[Order]:
    if user is None or not getattr(user, "is_authenticated", False):
        return Order.objects.none()
    return _orders().filter(user=user)


def order_list(*, user: Any, page: int, page_size: int | None, cursor: str | None) -> Page[Order]:
    """The user's orders, newest first."""
    return paginate(
        _owned_by(user),
        sort=NEWEST_FIRST,
        request=PageRequest(
            page=page, page_size=page_size or default_of("page_size"), cursor=cursor
        ),
        scope="orders",
    )


def order_get(*, user: Any, number: str) -> Order:
    """The user's order; another user's is ``NotFound``, exactly like a missing one."""
    order = _owned_by(user).filter(number=number).first() if is_order_number(number) else None
    if order is None:
        raise NotFound(f"No order {number[:40]}.")
    return order


def order_get_by_id(*, order_id: int) -> Order:
    return _orders().get(pk=order_id)


def staff_order_list(
    *,
    status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    user_id: int | None = None,
    page: int = 1,
    page_size: int | None = None,
    cursor: str | None = None,
) -> Page[Order]:
    """Every order, newest first, filtered; for holders of ``nexus_shop.view_order``."""
    queryset = _orders()
    if status is not None:
        queryset = queryset.filter(status=status)
    if created_after is not None:
        queryset = queryset.filter(created_at__gte=created_after)
    if created_before is not None:
        queryset = queryset.filter(created_at__lt=created_before)
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    return paginate(
        queryset,
        sort=NEWEST_FIRST,
        request=PageRequest(
            page=page, page_size=page_size or default_of("page_size"), cursor=cursor
        ),
        scope="staff-orders",
    )


def staff_order_get(*, number: str) -> Order:
    order = _orders().filter(number=number).first() if is_order_number(number) else None
    if order is None:
        raise NotFound(f"No order {number[:40]}.")
    return order
