"""Order status changes: the state machine, returned stock and the refund hook.

``pending_payment -> paid -> fulfilled``, and ``pending_payment | paid -> cancelled``.
Anything else is a :class:`~nexus_shop.exceptions.Conflict`. Every change locks the order
row first (``FOR UPDATE``), so of two concurrent cancellations one returns the stock and
the other sees ``cancelled`` and gets the conflict: stock comes back exactly once. Stock is
returned with ``UPDATE ... SET stock = stock + n`` in product-id order (the order checkout
takes it in), soft-deleted products included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from nexus_shop.conf import conf
from nexus_shop.exceptions import Conflict, NotFound
from nexus_shop.models import Order, OrderEvent, OrderLine, Product
from nexus_shop.models.orders import OrderStatus, is_order_number
from nexus_shop.payments import payment_provider
from nexus_shop.services.stock import StockChange, stock_changed

TRANSITIONS: Mapping[str, frozenset[str]] = {
    OrderStatus.PENDING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.FULFILLED, OrderStatus.CANCELLED}),
    OrderStatus.FULFILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def return_stock(quantities: Mapping[int, int]) -> None:
    """Add ``{product_id: quantity}`` back to stock, in product-id order; notify caches."""
    if not quantities:
        return
    table = connection.ops.quote_name(Product._meta.db_table)
    now = timezone.now()
    changes: list[StockChange] = []
    with connection.cursor() as cursor:
        for product_id in sorted(quantities):
            quantity = quantities[product_id]
            cursor.execute(
                f"UPDATE {table} SET stock = stock + %s, updated_at = %s WHERE id = %s "  # noqa: S608  (our table name; values bound)
                "RETURNING stock",
                [quantity, now, product_id],
            )
            row = cursor.fetchone()
            if row is not None:
                after = int(row[0])
                changes.append(
                    StockChange(product_id=product_id, before=after - quantity, after=after)
                )
    stock_changed(changes)


def _quantities(lines: Iterable[OrderLine]) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[line.product_id] += line.quantity
    return dict(totals)


def _locked_order(*, number: str, owner: Any | None) -> Order:
    if not is_order_number(number):
        raise NotFound(f"No order {number[:40]}.")
    queryset = Order.objects.select_for_update(of=("self",)).filter(number=number)
    if owner is not None:
        queryset = queryset.filter(user=owner)
    order = queryset.first()
    if order is None:  # another user's order looks exactly like a missing one
        raise NotFound(f"No order {number[:40]}.")
    return order


def _apply(order: Order, *, to: str, actor: Any, note: str = "", now: datetime) -> Order:
    """Move a locked order to ``to``; the caller checked the transition is allowed."""
    if to == OrderStatus.CANCELLED:
        if order.status == OrderStatus.PAID:
            payment_provider().refund(order=order)
        return_stock(_quantities(order.lines.all()))
    order.status = to
    order.updated_at = now
    order.save(update_fields=["status", "updated_at"])
    OrderEvent.objects.create(order=order, status=to, actor=actor, note=note, at=now)
    return order


@transaction.atomic
def order_transition(*, number: str, to: str, actor: Any, note: str = "") -> Order:
    """Staff (or a payment webhook) move an order along the state machine.

    ``Conflict`` for a transition the machine does not have; cancelling returns the stock
    and, for a paid order, calls the payment provider's ``refund`` first.
    """
    order = _locked_order(number=number, owner=None)
    if to not in TRANSITIONS.get(order.status, frozenset()):
        raise Conflict(
            f"Order {number} is {order.status}; it cannot become {to}.",
            extra={"field": "status"},
        )
    return _apply(order, to=to, actor=actor, note=note, now=timezone.now())


@transaction.atomic
def order_cancel(*, number: str, user: Any) -> Order:
    """The owner cancels an order that awaits payment; its stock returns.

    ``NotFound`` for another user's order, ``Conflict`` unless ``pending_payment``.
    """
    order = _locked_order(number=number, owner=user)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict(
            f"Order {number} is {order.status}; only an order awaiting payment can be "
            "cancelled by its owner."
        )
    return _apply(order, to=OrderStatus.CANCELLED, actor=user, now=timezone.now())


def orders_expire(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """Cancel ``pending_payment`` orders older than ``NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT``.

    Safe to run from several places at once: each batch locks its orders with
    ``FOR UPDATE SKIP LOCKED``, so a concurrent run takes other orders (or none), and the
    status is read from the locked row, so an order is cancelled, and its stock returned,
    once. Returns how many orders this call cancelled.
    """
    now = now or timezone.now()
    cutoff = now - conf.ORDER_PAYMENT_TIMEOUT
    note = "expired: not paid in time"
    expired = 0
    while True:
        with transaction.atomic():
            orders = list(
                Order.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=OrderStatus.PENDING_PAYMENT, created_at__lt=cutoff)
                .order_by("created_at", "id")[:batch_size]
            )
            if not orders:
                return expired
            ids = [order.pk for order in orders]
            return_stock(_quantities(OrderLine.objects.filter(order_id__in=ids)))
            Order.objects.filter(pk__in=ids).update(status=OrderStatus.CANCELLED, updated_at=now)
            OrderEvent.objects.bulk_create(
                [
                    OrderEvent(order_id=pk, status=OrderStatus.CANCELLED, note=note, at=now)
                    for pk in ids
                ]
            )
            expired += len(ids)
        if len(orders) < batch_size:
            return expired
