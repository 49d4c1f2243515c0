"""Writes to carts. Keyword-only, typed, transactional; no HTTP in here.

A cart is held by a user, or by whoever knows an anonymous cart's token. The token is 256
random bits (``secrets.token_urlsafe(32)``), handed out once when the cart is created and
stored only as its SHA-256. An authenticated caller who also sends a token has that
anonymous cart merged into their own (quantities add up, capped at ``MAX_LINE_QUANTITY`` a
line) and the anonymous cart deleted, so the token stops working.

A line holds one variant (lines are unique per cart and variant); a product is named
directly only when it has a single variant (:func:`cart_add_item`).

Concurrency (PostgreSQL): every change locks the cart row first (``FOR UPDATE``), so two
requests on one cart apply one after the other; a merge locks the user's cart, then the
anonymous one, always in that order.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from nexus_shop import instruments
from nexus_shop.conf import conf
from nexus_shop.exceptions import NotFound, ValidationFailed
from nexus_shop.models import Cart, CartLine, ProductVariant
from nexus_shop.models.orders import MAX_LINE_QUANTITY
from nexus_shop.selectors.visibility import purchasable_variants

TOKEN_BYTES = 32  # 256 bits


def hash_token(token: str) -> str:
    """What is stored of a cart token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@dataclass(frozen=True)
class Holder:
    """Who is asking: an authenticated user (or None) and the ``X-Cart-Token`` sent (or None)."""

    user: Any
    token: str | None

    @property
    def authenticated(self) -> bool:
        return self.user is not None and bool(getattr(self.user, "is_authenticated", False))


@dataclass(frozen=True)
class CartCreated:
    cart: Cart
    created: bool
    token: str | None  # the new anonymous cart's token; None for a user's cart


def _touch(cart: Cart, now: datetime | None = None) -> None:
    cart.updated_at = now or timezone.now()
    Cart.objects.filter(pk=cart.pk).update(updated_at=cart.updated_at)


def open_anonymous_cart(token: str, *, lock: bool) -> Cart | None:
    queryset = Cart.objects.filter(
        token_hash=hash_token(token), user__isnull=True, closed_at__isnull=True
    )
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def open_user_cart(user: Any, *, lock: bool) -> Cart | None:
    queryset = Cart.objects.filter(user=user, closed_at__isnull=True)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def _user_cart(user: Any, *, create: bool) -> tuple[Cart | None, bool]:
    """The user's open cart, locked; created when ``create`` and missing."""
    cart = open_user_cart(user, lock=True)
    if cart is not None or not create:
        return cart, False
    try:
        with transaction.atomic():
            cart = Cart.objects.create(user=user)
    except IntegrityError:
        # A concurrent request created it first (one open cart per user is a constraint).
        cart = open_user_cart(user, lock=True)
        if cart is None:  # pragma: no cover  (it was just created and cannot be closed yet)
            raise
        return cart, False
    return cart, True


def _merge(*, user: Any, token: str) -> tuple[Cart, bool]:
    """Merge the anonymous cart of ``token`` into ``user``'s cart; return the user's cart.

    An unknown token (already merged, pruned, never issued) merges nothing.
    """
    cart, created = _user_cart(user, create=True)
    assert cart is not None  # noqa: S101  (create=True always returns a cart)
    anonymous = open_anonymous_cart(token, lock=True)
    if anonymous is None:
        return cart, created
    mine = {line.variant_id: line for line in cart.lines.select_for_update()}
    for line in anonymous.lines.all():
        existing = mine.get(line.variant_id)
        if existing is None:
            # Moved, not copied: the line keeps its id, so a client's line ids stay valid.
            CartLine.objects.filter(pk=line.pk).update(cart=cart)
        else:
            existing.quantity = min(existing.quantity + line.quantity, MAX_LINE_QUANTITY)
            existing.save(update_fields=["quantity"])
    anonymous.delete()
    _touch(cart)
    return cart, created


def resolve_cart(*, holder: Holder, create_for_user: bool = False) -> Cart:
    """The holder's open cart, locked until the transaction ends (call inside one).

    A user's cart absorbs the anonymous cart of the token they send. ``NotFound`` when
    there is no cart (or the anonymous token is unknown).
    """
    if holder.authenticated:
        if holder.token:
            return _merge(user=holder.user, token=holder.token)[0]
        cart, _ = _user_cart(holder.user, create=create_for_user)
        if cart is None:
            raise NotFound("You have no cart; create one with POST /cart.")
        return cart
    if not holder.token:
        raise NotFound("No cart: send the X-Cart-Token header of your cart.")
    cart = open_anonymous_cart(holder.token, lock=True)
    if cart is None:
        raise NotFound("No cart for this X-Cart-Token.")
    return cart


@transaction.atomic
def cart_create(*, holder: Holder) -> CartCreated:
    """An anonymous caller gets a new cart and its token; a user gets their cart.

    For a user, ``created`` says whether the cart is new (an anonymous cart merged into a
    new user cart counts as new).
    """
    if holder.authenticated:
        if holder.token:
            cart, created = _merge(user=holder.user, token=holder.token)
        else:
            found, created = _user_cart(holder.user, create=True)
            assert found is not None  # noqa: S101  (create=True always returns a cart)
            cart = found
        return CartCreated(cart=cart, created=created, token=None)
    token = new_token()
    cart = Cart.objects.create(token_hash=hash_token(token))
    return CartCreated(cart=cart, created=True, token=token)


@transaction.atomic
def cart_get(*, holder: Holder) -> Cart:
    """The holder's cart (merging an anonymous one into a user's); ``NotFound`` if none."""
    return resolve_cart(holder=holder)


@transaction.atomic
def cart_clear(*, holder: Holder) -> Cart:
    """Remove every line."""
    cart = resolve_cart(holder=holder)
    CartLine.objects.filter(cart=cart).delete()
    _touch(cart)
    return cart


def _purchasable_variant(variant_id: int) -> ProductVariant:
    variant = purchasable_variants().filter(pk=variant_id).first()
    if variant is None:
        raise ValidationFailed(
            f"No variant with id {variant_id} can be bought.", extra={"field": "variant_id"}
        )
    return variant


def _only_variant(product_id: int) -> ProductVariant:
    """The one variant the public may buy of a product added by ``product_id``.

    A product with several variants for sale is a ``ValidationFailed`` whose
    ``variant_ids`` lists them: the client must choose, and nothing here guesses. Inactive
    variants are not for sale, so they never make a choice necessary.
    """
    buyable = list(purchasable_variants().filter(product_id=product_id).order_by("position", "id"))
    if not buyable:
        raise ValidationFailed(
            f"No product with id {product_id} can be bought.", extra={"field": "product_id"}
        )
    if len(buyable) > 1:
        raise ValidationFailed(
            f"Product {product_id} has {len(buyable)} variants for sale; add one of them by "
            "variant_id.",
            extra={"field": "product_id", "variant_ids": [v.pk for v in buyable]},
        )
    return buyable[0]


@transaction.atomic
def cart_add_item(
    *,
    holder: Holder,
    quantity: int,
    variant_id: int | None = None,
    product_id: int | None = None,
) -> Cart:
    """Add ``quantity`` of a variant the public may buy; a variant already in the cart adds up.

    Name the variant by ``variant_id``, or name a single-variant product by ``product_id``
    (exactly one of the two). ``ValidationFailed`` for an unknown, deleted or inactive
    variant or product, for a product with several variants (``extra["variant_ids"]``), or
    when the line would hold more than ``MAX_LINE_QUANTITY``. Stock is not checked here
    (the cart shows it); checkout does.
    """
    if (variant_id is None) == (product_id is None):
        raise ValidationFailed("Send exactly one of variant_id and product_id.")
    cart = resolve_cart(holder=holder, create_for_user=True)
    if variant_id is not None:
        variant = _purchasable_variant(variant_id)
    else:
        assert product_id is not None  # noqa: S101  (exactly one of the two: checked above)
        variant = _only_variant(product_id)
    line = CartLine.objects.filter(cart=cart, variant=variant).first()
    total = quantity + (line.quantity if line else 0)
    if not 1 <= total <= MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"A cart line holds 1 to {MAX_LINE_QUANTITY} items; this one would hold {total}.",
            extra={"field": "quantity"},
        )
    if line is None:
        CartLine.objects.create(
            cart=cart, product_id=variant.product_id, variant=variant, quantity=total
        )
    else:
        line.quantity = total
        line.save(update_fields=["quantity"])
    _touch(cart)
    return cart


def _line_of(cart: Cart, line_id: int) -> CartLine:
    line = CartLine.objects.filter(pk=line_id, cart=cart).first()
    if line is None:  # another holder's line looks exactly like a missing one
        raise NotFound(f"No line {line_id} in your cart.")
    return line


@transaction.atomic
def cart_update_item(*, holder: Holder, line_id: int, quantity: int) -> Cart:
    """Set a line's quantity (1 to ``MAX_LINE_QUANTITY``). Another holder's line is ``NotFound``."""
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"quantity must be from 1 to {MAX_LINE_QUANTITY}.", extra={"field": "quantity"}
        )
    cart = resolve_cart(holder=holder)
    line = _line_of(cart, line_id)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    _touch(cart)
    return cart


@transaction.atomic
def cart_remove_item(*, holder: Holder, line_id: int) -> Cart:
    cart = resolve_cart(holder=holder)
    _line_of(cart, line_id).delete()
    _touch(cart)
    return cart


def carts_prune(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Delete open anonymous carts untouched for ``NEXUS_SHOP_ANONYMOUS_CART_TTL``.

    In batches, each its own transaction; a cart touched meanwhile is kept (the age is
    checked again on the locked row). Returns how many were deleted.
    """
    cutoff = (now or timezone.now()) - conf.ANONYMOUS_CART_TTL
    stale = Q(user__isnull=True, closed_at__isnull=True, updated_at__lt=cutoff)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Cart.objects.select_for_update(skip_locked=True)
                .filter(stale)
                .order_by("updated_at")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            CartLine.objects.filter(cart_id__in=ids).delete()
            batch = Cart.objects.filter(pk__in=ids).delete()[1].get(Cart._meta.label, 0)
            deleted += batch
            transaction.on_commit(
                functools.partial(instruments.count, instruments.CARTS_EXPIRED, amount=batch)
            )
        if len(ids) < batch_size:
            return deleted
