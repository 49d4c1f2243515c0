"""Checkout: a cart becomes an order, stock is taken, all or nothing, exactly once.

How each promise is kept (PostgreSQL, READ COMMITTED):

* **No oversell.** A line holds a variant, and takes its stock with one conditional
  statement, ``UPDATE productvariant SET stock = stock - n WHERE id = %s AND stock >= n
  AND <public variant>``, whose row count decides. Before it, the product's row is
  updated (its summary ``stock`` goes down by its lines' quantities) under the
  catalogue's visibility rule (``<public>``, the selectors' own). Nothing is read first,
  so no cache (cachalot, the response cache) can be behind the decision; the row locks
  hold until commit, and the ``stock >= 0`` check constraints back them up.
* **All or nothing, no deadlock.** The product rows are taken in product-id order, then
  the variants in variant-id order: the order of the catalogue's own writes (product row
  first, then its variants), so two carts, or a cart and a restock, lock in the same
  order. Every line is tried (to report every shortfall); if any fell short,
  :class:`~nexus_shop.exceptions.Conflict` is raised and the whole transaction,
  decrements and the order included, rolls back.
* **Short locks on hot products.** The order, its lines and the stored answer are written
  first; the stock UPDATEs come last, so a product's row lock is held from its UPDATE to
  the commit only, not through the rest of the checkout.
* **Idempotency.** The ``(user, key)`` record is inserted first with
  ``ON CONFLICT DO NOTHING``: a duplicate sent while the first is still running waits on
  that insert until the first commits (then replays its stored answer) or rolls back (then
  runs itself). Answers are stored in the same transaction as the order, so there is never
  a stored answer without an order or an order without its answer.
* **One cart, one order.** The cart row is locked and closed by the transaction that
  creates the order; ``Order.cart`` is unique as well.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from nexus_shop import tracing
from nexus_shop.conf import conf
from nexus_shop.exceptions import Conflict, NotFound, OutOfStock, ValidationFailed
from nexus_shop.models import (
    Cart,
    IdempotencyRecord,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    ProductVariant,
)
from nexus_shop.models.orders import OrderStatus
from nexus_shop.money import MAX_AMOUNT, to_cents
from nexus_shop.payments import payment_provider
from nexus_shop.pricing import PricedLine, load_calculator
from nexus_shop.selectors.visibility import public_products_sql, public_variants_sql
from nexus_shop.services.cart import Holder, open_anonymous_cart, open_user_cart, resolve_cart
from nexus_shop.services.event_payloads import emit_order, order_data
from nexus_shop.services.stock import StockChange, stock_changed


@dataclass(frozen=True)
class CheckoutResult:
    """The answer to send: ``status`` and JSON ``body``, fresh or replayed."""

    status: int
    body: dict[str, Any]
    order_id: int | None
    replayed: bool


Renderer = Callable[[Order], dict[str, Any]]


def fingerprint(*, email: str | None, shipping_address: dict[str, Any] | None) -> str:
    """What a retry with the same key must repeat: the request body, canonical."""
    canonical = json.dumps(
        {"email": email, "shipping_address": shipping_address},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim_key(*, user: Any, key: str, print_: str) -> IdempotencyRecord:
    """The locked record of ``(user, key)``; ours and empty unless it already has an answer.

    Waits for a concurrent request holding the same key to finish.
    """
    ttl = conf.IDEMPOTENCY_KEY_TTL
    for _attempt in range(5):
        now = timezone.now()
        IdempotencyRecord.objects.bulk_create(
            [IdempotencyRecord(user=user, key=key, fingerprint=print_, created_at=now)],
            ignore_conflicts=True,
        )
        record = IdempotencyRecord.objects.select_for_update().filter(user=user, key=key).first()
        if record is None:
            continue  # an expired record was replaced by a concurrent request: look again
        if record.response_status is not None and record.created_at < now - ttl:
            record.delete()  # expired: the key is free again
            continue
        return record
    raise Conflict("This Idempotency-Key is being reused concurrently; retry.")


def _check_same_request(record: IdempotencyRecord, *, holder: Holder, print_: str) -> None:
    if record.fingerprint != print_:
        raise ValidationFailed(
            "This Idempotency-Key was already used with a different request body.",
            extra={"field": "Idempotency-Key"},
        )
    # The cart the key checked out is closed now; an open cart with lines is another cart.
    candidates = [open_user_cart(holder.user, lock=False)]
    if holder.token:
        candidates.append(open_anonymous_cart(holder.token, lock=False))
    for cart in candidates:
        if cart is not None and cart.pk != record.cart_id and cart.lines.exists():
            raise ValidationFailed(
                "This Idempotency-Key was already used to check out a different cart.",
                extra={"field": "Idempotency-Key"},
            )


@dataclass(frozen=True)
class _Line:
    """A cart line at checkout: its price for the calculators, and what the order line copies."""

    priced: PricedLine
    variant_id: int
    name: str
    options: dict[str, str]


def _priced_lines(cart: Cart) -> list[_Line]:
    """The cart's lines at today's prices, in (product id, variant id) order.

    Prices are the variants'; the product's name, the variant's sku and option values come
    along for the order lines to copy. Read straight from the database with a plain cursor
    (never from a query cache). Nothing is decided from these rows: the stock is taken
    later by :func:`_take_stock`, which also refuses a variant or product that became
    inactive or deleted meanwhile.
    """
    quantities = dict(cart.lines.values_list("variant_id", "quantity"))
    if not quantities:
        return []
    variants = connection.ops.quote_name(ProductVariant._meta.db_table)
    products = connection.ops.quote_name(Product._meta.db_table)
    ids = list(quantities)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.id, v.product_id, v.sku, v.price, v.options, p.name "  # noqa: S608  (our table names; values bound)
            f"FROM {variants} v JOIN {products} p ON p.id = v.product_id "
            f"WHERE v.id IN ({marks})",
            ids,
        )
        rows = cursor.fetchall()
    lines: list[_Line] = []
    # A cart line's variant and product rows always exist (soft deletes keep them).
    rows.sort(key=lambda row: (row[1], row[0]))  # product id, then variant id
    for variant_id, product_id, sku, price, options, name in rows:
        unit_price = to_cents(Decimal(price))
        quantity = quantities[variant_id]
        # JSON arrives as text from both backends (Django's psycopg setup does not parse it).
        values = dict(json.loads(options) if isinstance(options, str) else options or {})
        lines.append(
            _Line(
                priced=PricedLine(
                    product_id=product_id,
                    sku=sku,
                    unit_price=unit_price,
                    quantity=quantity,
                    line_total=to_cents(unit_price * quantity),
                    variant_id=variant_id,
                    options=values,
                ),
                variant_id=variant_id,
                name=name,
                options=values,
            )
        )
    return lines


def _short(line: _Line, available: int) -> dict[str, int]:
    return {
        "product_id": line.priced.product_id,
        "variant_id": line.variant_id,
        "requested": line.priced.quantity,
        "available": available,
    }


def _take_stock(lines: list[_Line]) -> None:
    """Decrement every line's variant stock, all or nothing; ``Conflict`` if any falls short.

    First each product's row, in product-id order: ``stock`` (the summary, the sum of the
    active variants' stock) goes down by its lines' quantities, and the ``UPDATE`` is
    conditional on the catalogue's own visibility rule
    (:data:`~nexus_shop.selectors.visibility.PUBLIC_PRODUCTS`, compiled by
    :func:`~nexus_shop.selectors.visibility.public_products_sql`), so a product that became
    hidden since it went into the cart is a shortfall. Its row lock is the one every
    catalogue write takes first (:func:`nexus_shop.services.variants.lock_product`), so
    no variant of it changes until the commit, and the order of locks (product, then its
    variants) is theirs: no deadlock with a restock.

    Then each variant, in variant-id order: one conditional ``UPDATE ... WHERE stock >= n
    AND <public variant>`` whose row count decides (the rule: a *variant's* stock, never the
    product's sum). The product's ``CASE`` never lets its summary go below 0 when a
    variant falls short (the ``stock >= 0`` check would fail the statement instead of
    reporting the shortfall); the transaction rolls back then anyway.

    Runs last in the checkout transaction, so the row locks these UPDATEs take (a hot
    product's is the one every checkout queues on) are held only until the commit.
    """
    product_table = connection.ops.quote_name(Product._meta.db_table)
    variant_table = connection.ops.quote_name(ProductVariant._meta.db_table)
    public, public_params = public_products_sql()
    sellable, sellable_params = public_variants_sql()
    now = timezone.now()
    by_product: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_product[line.priced.product_id].append(line)
    shortfalls: dict[int, dict[str, int]] = {}
    changes: list[StockChange] = []
    taking: list[_Line] = []
    with connection.cursor() as cursor:
        for product_id in sorted(by_product):
            total = sum(line.priced.quantity for line in by_product[product_id])
            cursor.execute(
                f"UPDATE {product_table} SET stock = CASE WHEN stock >= %s THEN stock - %s "  # noqa: S608  (our table name and the ORM's condition; values bound)
                f"ELSE 0 END, updated_at = %s WHERE id = %s AND {public} RETURNING id",
                [total, total, now, product_id, *public_params],
            )
            if cursor.fetchone() is None:  # hidden (inactive, deleted): nothing can be bought
                for line in by_product[product_id]:
                    shortfalls[line.variant_id] = _short(line, 0)
            else:
                taking.extend(by_product[product_id])
        for line in sorted(taking, key=lambda line: line.variant_id):
            quantity = line.priced.quantity
            cursor.execute(
                f"UPDATE {variant_table} SET stock = stock - %s, updated_at = %s "  # noqa: S608  (same)
                f"WHERE id = %s AND stock >= %s AND {sellable} RETURNING stock, sku",
                [quantity, now, line.variant_id, quantity, *sellable_params],
            )
            row = cursor.fetchone()
            if row is not None:
                after = int(row[0])
                changes.append(
                    StockChange(
                        product_id=line.priced.product_id,
                        variant_id=line.variant_id,
                        sku=row[1],
                        before=after + quantity,
                        after=after,
                    )
                )
                continue
            cursor.execute(
                f"SELECT stock, {sellable} FROM {variant_table} WHERE id = %s",  # noqa: S608  (same)
                [*sellable_params, line.variant_id],
            )
            found = cursor.fetchone()
            shortfalls[line.variant_id] = _short(line, int(found[0]) if found and found[1] else 0)
    if shortfalls:
        # In the cart's (product, variant) order, as the order lines would have been.
        reported = [shortfalls[line.variant_id] for line in lines if line.variant_id in shortfalls]
        noun = "product" if len(reported) == 1 else "products"
        raise OutOfStock(
            f"Not enough stock for {len(reported)} {noun} in your cart; nothing was ordered.",
            extra={"lines": reported},
        )
    stock_changed(changes)


def _calculated(path: str, what: str, **kwargs: Any) -> Decimal:
    value: object = load_calculator(path)(**kwargs)  # a host's code: check what it returns
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise TypeError(f"The {what} calculator {path!r} returned {value!r}, not a Decimal >= 0.")
    return to_cents(value)


def _order_number(order: Order) -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('nexus_shop_order_number_seq')")
            row = cursor.fetchone()
            assert row is not None  # noqa: S101  (nextval always answers)
            return str(row[0])
    # Elsewhere: from the primary key, unique by construction (SQLite writes one at a time).
    return str(100000 + order.pk)


def _check_required(*, email: str | None, shipping_address: dict[str, Any] | None) -> None:
    given = {"email": email, "shipping_address": shipping_address}
    for field in conf.CHECKOUT_REQUIRED_FIELDS:
        if not given.get(field):
            raise ValidationFailed(f"{field} is required to check out.", extra={"field": field})


@dataclass(frozen=True)
class _Placed:
    """An order just written, with the rows written with it: what ``order.created``
    renders, without reading any of them back."""

    order: Order
    lines: list[OrderLine]
    events: list[OrderEvent]

    def __getattr__(self, name: str) -> Any:  # the order's other fields, as OrderOut reads them
        return getattr(self.order, name)


def _place_order(
    *,
    cart: Cart,
    user: Any,
    email: str | None,
    shipping_address: dict[str, Any] | None,
) -> tuple[_Placed, list[_Line]]:
    """Create the order, its lines and first event from the cart, and close the cart.

    Everything but the stock: the caller takes it last, and its transaction commits the
    order only if that succeeds.
    """
    lines = _priced_lines(cart)
    if not lines:
        raise ValidationFailed("Your cart is empty.")
    _check_required(email=email, shipping_address=shipping_address)
    priced = [line.priced for line in lines]
    subtotal = to_cents(sum((line.line_total for line in priced), Decimal("0")))
    context: dict[str, Any] = {
        "lines": priced,
        "subtotal": subtotal,
        "currency": conf.CURRENCY,
        "shipping_address": shipping_address,
        "user": user,
    }
    shipping = _calculated(conf.SHIPPING_CALCULATOR, "shipping", **context)
    tax = _calculated(conf.TAX_CALCULATOR, "tax", **context)
    total = subtotal + shipping + tax
    if total > MAX_AMOUNT or any(line.line_total > MAX_AMOUNT for line in priced):
        raise ValidationFailed("This order's total is too large for one order.")
    now = timezone.now()
    order = Order(
        number=f"pending-{cart.pk}",  # replaced below, before anyone can see the row
        user=user,
        status=OrderStatus.PENDING_PAYMENT,
        subtotal=subtotal,
        shipping=shipping,
        tax=tax,
        total=total,
        currency=conf.CURRENCY,
        cart=cart,
        email=email or "",
        shipping_address=shipping_address,
    )
    if connection.vendor == "postgresql":
        order.number = _order_number(order)
        order.save()
    else:
        order.save()
        order.number = _order_number(order)
        order.save(update_fields=["number"])
    order_lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product_id=line.priced.product_id,
                variant_id=line.variant_id,
                name=line.name,
                sku=line.priced.sku,
                options=line.options,
                unit_price=line.priced.unit_price,
                quantity=line.priced.quantity,
                line_total=line.priced.line_total,
            )
            for line in lines
        ]
    )
    event = OrderEvent.objects.create(order=order, status=order.status, actor=user, at=now)
    Cart.objects.filter(pk=cart.pk).update(closed_at=now, updated_at=now)
    return _Placed(order=order, lines=order_lines, events=[event]), lines


@transaction.atomic
def checkout(
    *,
    user: Any,
    cart_token: str | None,
    idempotency_key: str,
    render: Renderer | None = None,
    email: str | None = None,
    shipping_address: dict[str, Any] | None = None,
) -> CheckoutResult:
    """Turn the user's cart (with the anonymous cart of ``cart_token`` merged in) into an
    order, once per ``idempotency_key``.

    The JSON body that is returned and stored for retries is the order as the API shows it,
    rendered from the rows just written (nothing is read back), and the same data is the
    ``order.created`` event's; ``render(order)`` replaces it (tests, hosts' own shapes).
    Raises ``ValidationFailed`` (empty cart, a required field missing, the key reused for
    another request or cart) and ``Conflict`` (stock short: ``extra["lines"]``).
    """
    holder = Holder(user=user, token=cart_token)
    print_ = fingerprint(email=email, shipping_address=shipping_address)
    record = _claim_key(user=user, key=idempotency_key, print_=print_)
    if record.response_status is not None:
        _check_same_request(record, holder=holder, print_=print_)
        return CheckoutResult(
            status=record.response_status,
            body=record.response_body or {},
            order_id=record.order_id,
            replayed=True,
        )
    try:
        cart = resolve_cart(holder=holder)
    except NotFound:
        raise ValidationFailed("Your cart is empty.") from None
    placed, lines = _place_order(
        cart=cart, user=user, email=email, shipping_address=shipping_address
    )
    order = placed.order
    body = order_data(placed) if render is None else render(order)
    record.cart = cart
    record.order = order
    record.response_status = 201
    record.response_body = body
    record.save(update_fields=["cart", "order", "response_status", "response_body"])
    # Last: take the stock (row locks held from here to the commit only), then tell the
    # payment provider about an order that is now certain to commit with its stock.
    with tracing.span("checkout.stock", lines=len(lines)) as span:
        try:
            _take_stock(lines)
        except Conflict:
            span.set("outcome", "out_of_stock")
            raise
        span.set("outcome", "taken")
    # Rendered from the rows in memory (the order's lines in their insert order, which is
    # their id order): no statement but the outbox's own.
    emit_order("order.created", order=placed, data=body if render is None else None)
    payment_provider().order_placed(order=order)
    return CheckoutResult(status=201, body=body, order_id=order.pk, replayed=False)


def idempotency_records_prune(*, now: datetime | None = None) -> int:
    """Delete stored answers older than ``NEXUS_SHOP_IDEMPOTENCY_KEY_TTL``; how many.

    Expired records are already ignored (and replaced) by checkout; this only frees the
    space. ``nexus_shop_prune_carts`` calls it.
    """
    cutoff = (now or timezone.now()) - conf.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
