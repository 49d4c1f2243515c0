"""Order status changes: the state machine, returned stock and the refund hook.

``pending_payment -> paid -> fulfilled``, and ``pending_payment | paid -> cancelled``.
Anything else is a :class:`~nexus_shop.exceptions.Conflict`. Every change locks the order
row first (``FOR UPDATE``), so of two concurrent cancellations one returns the stock and
the other sees ``cancelled`` and gets the conflict: stock comes back exactly once. Stock is
returned to each line's variant with ``UPDATE ... SET stock = stock + n``, soft-deleted
variants and products included, after their product rows are locked in product-id order
(the order checkout and the catalogue writes take them in). Every change emits
``order.<status>`` in its transaction, with the order as its owner sees it (the expiry
command's batches too, one event per order).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from nexus_shop import instruments
from nexus_shop.conf import conf
from nexus_shop.exceptions import Conflict, NotFound
from nexus_shop.models import Order, OrderEvent, OrderLine, Product, ProductVariant
from nexus_shop.models.orders import OrderStatus, is_order_number
from nexus_shop.payments import payment_provider
from nexus_shop.services import events
from nexus_shop.services.event_payloads import emit_order
from nexus_shop.services.stock import StockChange, stock_changed
from nexus_shop.services.summary import refresh_summary

TRANSITIONS: Mapping[str, frozenset[str]] = {
    OrderStatus.PENDING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.FULFILLED, OrderStatus.CANCELLED}),
    OrderStatus.FULFILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def return_stock(quantities: Mapping[int, int]) -> None:
    """Add ``{variant_id: quantity}`` back to the variants' stock; refresh summaries, notify.

    The products' rows are locked first, in product-id order, then the variants are
    updated in variant-id order: the lock order of checkout and of the catalogue writes.
    A live product's summary is then recomputed by the one rule
    (:func:`~nexus_shop.services.summary.refresh_summary`); a soft-deleted one's is
    recomputed when it is restored.
    """
    if not quantities:
        return
    product_of = dict(
        ProductVariant.all_objects.filter(pk__in=list(quantities)).values_list("pk", "product_id")
    )
    locked = list(
        Product.all_objects.select_for_update(no_key=True)
        .filter(pk__in=set(product_of.values()))
        .order_by("pk")
        .values_list("pk", "deleted_at")
    )
    table = connection.ops.quote_name(ProductVariant._meta.db_table)
    now = timezone.now()
    changes: list[StockChange] = []
    with connection.cursor() as cursor:
        for variant_id in sorted(product_of):
            quantity = quantities[variant_id]
            cursor.execute(
                f"UPDATE {table} SET stock = stock + %s, updated_at = %s WHERE id = %s "  # noqa: S608  (our table name; values bound)
                "RETURNING stock, sku",
                [quantity, now, variant_id],
            )
            row = cursor.fetchone()
            if row is not None:
                after = int(row[0])
                changes.append(
                    StockChange(
                        product_id=product_of[variant_id],
                        variant_id=variant_id,
                        sku=row[1],
                        before=after - quantity,
                        after=after,
                    )
                )
    refresh_summary(product_ids=[pk for pk, deleted_at in locked if deleted_at is None])
    stock_changed(changes)


def _quantities(lines: Iterable[OrderLine]) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        totals[line.variant_id] += line.quantity
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
    emit_order(f"order.{to}", order=order)  # reads its lines and events: two statements
    transaction.on_commit(lambda: instruments.count(instruments.ORDER_TRANSITIONS, to))
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


def _count_expired(count: int) -> None:
    instruments.count(instruments.ORDERS_EXPIRED, amount=count)
    instruments.count(instruments.ORDER_TRANSITIONS, OrderStatus.CANCELLED, amount=count)


def _announce_cancelled(orders: list[Order], *, now: datetime) -> None:
    """``order.cancelled`` for each of a batch cancelled by one ``UPDATE``: their lines and
    events read in two statements for the batch, not two per order."""
    if not events.active():
        return
    for order in orders:
        order.status, order.updated_at = OrderStatus.CANCELLED, now
    prefetch_related_objects(orders, "lines", "events")
    for order in orders:
        emit_order("order.cancelled", order=order)


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
            _announce_cancelled(orders, now=now)
            expired += len(ids)
            transaction.on_commit(functools.partial(_count_expired, len(ids)))
        if len(orders) < batch_size:
            return expired
