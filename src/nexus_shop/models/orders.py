"""The purchase path: carts, orders and their history, and stored idempotent answers.

Business rules (stock, states, merging, idempotency) live in the services
(:mod:`nexus_shop.services.cart`, :mod:`nexus_shop.services.checkout`,
:mod:`nexus_shop.services.orders`); the models only hold what the database itself must
guarantee: one order per cart, one open cart per user, one record per idempotency key and
user, totals that add up, quantities in range.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from nexus_shop.models.base import TimeStampedModel
from nexus_shop.models.catalog import Product, ProductVariant
from nexus_shop.money import DECIMAL_PLACES, MAX_DIGITS

MAX_LINE_QUANTITY = 1000
# What an order number can look like; anything else in a URL is a 404 without a query
# (a NUL character, say, would be a database error on PostgreSQL).
ORDER_NUMBER_PATTERN = r"[0-9A-Za-z-]{1,32}"


def is_order_number(value: str) -> bool:
    return re.fullmatch(ORDER_NUMBER_PATTERN, value) is not None


class Cart(TimeStampedModel):
    """A shopping cart: a user's, or an anonymous one known by the hash of its token.

    The token itself is never stored: ``token_hash`` is its SHA-256, so a database dump
    does not let anyone use the carts in it. ``closed_at`` is set when the cart becomes an
    order (it is then read-only and the owner's next cart is a new row). ``updated_at``
    moves with every change of the cart or its lines; anonymous carts untouched for
    ``NEXUS_SHOP_ANONYMOUS_CART_TTL`` are deleted by ``nexus_shop_prune_carts``.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="nexus_shop_carts",
    )
    # NULL, not "", for a user's cart: the unique constraint must ignore every user cart.
    token_hash = models.CharField(  # noqa: DJ001  (NULL means "no token"; see above)
        max_length=64, null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(closed_at__isnull=True, user__isnull=False),
                name="nexus_shop_cart_one_open_per_user",
            ),
            models.UniqueConstraint(fields=["token_hash"], name="nexus_shop_cart_token_uniq"),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(token_hash__isnull=False),
                name="nexus_shop_cart_has_holder",
            ),
        ]
        indexes = [
            # nexus_shop_prune_carts: anonymous carts by age.
            models.Index(
                fields=["updated_at"],
                condition=Q(user__isnull=True),
                name="nexus_shop_cart_anon_age_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"cart {self.pk}"


class CartLine(models.Model):
    """A variant and a quantity. Prices are not stored: a cart shows live prices.

    ``product`` repeats the variant's, so visibility and the cart's reads need no join
    through the variants.
    """

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "variant"], name="nexus_shop_cartline_variant_uniq"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_LINE_QUANTITY),
                name="nexus_shop_cartline_quantity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x variant {self.variant_id}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


class Order(TimeStampedModel):
    """A placed order. Money is ``Decimal(12, 2)`` and ``total == subtotal + shipping + tax``
    is a database constraint, not only a habit of the services."""

    number = models.CharField(max_length=32, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="nexus_shop_orders",
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    subtotal = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    shipping = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    tax = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    total = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    # One cart becomes at most one order: OneToOne is a unique foreign key.
    cart = models.OneToOneField(
        Cart, null=True, blank=True, on_delete=models.SET_NULL, related_name="order"
    )
    email = models.EmailField(max_length=254, blank=True, default="")
    shipping_address = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["number"], name="nexus_shop_order_number_uniq"),
            models.CheckConstraint(
                # ROUND: exact on PostgreSQL's numeric; absorbs SQLite's binary floats.
                condition=Q(total=Round(F("subtotal") + F("shipping") + F("tax"), DECIMAL_PLACES)),
                name="nexus_shop_order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, shipping__gte=0, tax__gte=0),
                name="nexus_shop_order_money_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values),
                name="nexus_shop_order_status_valid",
            ),
        ]
        indexes = [
            # GET /orders: the caller's orders, newest first.
            models.Index(fields=["user", "created_at", "id"], name="nexus_shop_order_user_idx"),
            # nexus_shop_expire_orders: old pending_payment orders.
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending_payment"),
                name="nexus_shop_order_pending_idx",
            ),
            # GET /staff/orders: newest first, any filter.
            models.Index(fields=["created_at", "id"], name="nexus_shop_order_date_idx"),
        ]

    def __str__(self) -> str:
        return f"order {self.number}"


class OrderLine(models.Model):
    """What was bought, as it was at checkout: the product's name, the variant's sku, its
    option values and the unit price are copies.

    ``product`` and ``variant`` point at the rows even after a soft delete (``PROTECT``
    keeps a hard delete from orphaning history).
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=255)
    sku = models.CharField("SKU", max_length=64)
    options = models.JSONField(default=dict, blank=True)
    unit_price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(line_total=Round(F("unit_price") * F("quantity"), DECIMAL_PLACES)),
                name="nexus_shop_orderline_total",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="nexus_shop_orderline_quantity_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderEvent(models.Model):
    """One status change of an order: to what, by whom (null: the system), when."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M}"


class IdempotencyRecord(models.Model):
    """The answer given to one ``Idempotency-Key`` of one user, replayed on a retry.

    ``fingerprint`` hashes what the request asked for (its body), and ``cart`` is the cart
    it checked out: a retry must ask for the same thing. Records expire after
    ``NEXUS_SHOP_IDEMPOTENCY_KEY_TTL``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    cart = models.ForeignKey(Cart, null=True, on_delete=models.SET_NULL, related_name="+")
    order = models.ForeignKey(Order, null=True, on_delete=models.SET_NULL, related_name="+")
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="nexus_shop_idem_user_key_uniq"),
        ]
        indexes = [models.Index(fields=["created_at"], name="nexus_shop_idem_age_idx")]

    def __str__(self) -> str:
        return f"idempotency key of user {self.user_id}"


PURCHASE_MODELS: tuple[type[models.Model], ...] = (
    Cart,
    CartLine,
    Order,
    OrderLine,
    OrderEvent,
    IdempotencyRecord,
)


def purchase_tables() -> set[str]:
    """Tables that must never be served from a query cache (django-cachalot): the purchase
    path's, and the event outbox's (workers claim its rows with ``SKIP LOCKED``)."""
    from nexus_shop.models.events import EVENT_MODELS

    return {model._meta.db_table for model in (*PURCHASE_MODELS, *EVENT_MODELS)}
