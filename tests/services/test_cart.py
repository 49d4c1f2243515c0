"""``services.cart``: who holds a cart, what a line may hold, how an anonymous cart merges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from nexus_shop.exceptions import NotFound, ValidationFailed
from nexus_shop.models import Cart, CartLine, Product
from nexus_shop.models.orders import MAX_LINE_QUANTITY
from nexus_shop.services.cart import (
    Holder,
    cart_add_item,
    cart_clear,
    cart_create,
    cart_get,
    cart_remove_item,
    cart_update_item,
    carts_prune,
    hash_token,
)
from tests.factories import ProductFactory, UserFactory
from tests.purchase.conftest import variant_product

pytestmark = pytest.mark.django_db


def anonymous() -> tuple[Holder, Cart]:
    created = cart_create(holder=Holder(user=None, token=None))
    assert created.token is not None
    return Holder(user=None, token=created.token), created.cart


def lines(cart: Cart) -> dict[int, int]:
    return dict(CartLine.objects.filter(cart=cart).values_list("product_id", "quantity"))


def test_an_anonymous_cart_is_held_by_its_token_stored_only_as_a_hash() -> None:
    holder, cart = anonymous()
    assert holder.token
    assert cart.token_hash == hash_token(holder.token) != holder.token
    assert cart_get(holder=holder).pk == cart.pk
    with pytest.raises(NotFound):
        cart_get(holder=Holder(user=None, token=holder.token + "x"))
    with pytest.raises(NotFound):
        cart_get(holder=Holder(user=None, token=None))


def test_a_user_has_one_open_cart() -> None:
    user = UserFactory()
    holder = Holder(user=user, token=None)
    with pytest.raises(NotFound):
        cart_get(holder=holder)
    first = cart_create(holder=holder)
    again = cart_create(holder=holder)
    assert (first.created, again.created) == (True, False)
    assert first.cart.pk == again.cart.pk
    assert first.token is None


def test_adding_a_product_twice_adds_up_to_the_line_limit() -> None:
    holder = Holder(user=UserFactory(), token=None)
    product = ProductFactory()
    cart = cart_add_item(holder=holder, product_id=product.pk, quantity=2)  # creates the cart
    cart_add_item(holder=holder, product_id=product.pk, quantity=3)
    assert lines(cart) == {product.pk: 5}

    with pytest.raises(ValidationFailed) as refused:
        cart_add_item(holder=holder, product_id=product.pk, quantity=MAX_LINE_QUANTITY)
    assert refused.value.extra == {"field": "quantity"}
    assert lines(cart) == {product.pk: 5}


def test_only_a_live_active_product_can_be_added() -> None:
    holder = Holder(user=UserFactory(), token=None)
    inactive = ProductFactory(is_active=False)
    for product_id in (inactive.pk, inactive.pk + 1000):
        with pytest.raises(ValidationFailed) as refused:
            cart_add_item(holder=holder, product_id=product_id, quantity=1)
        assert refused.value.extra == {"field": "product_id"}
    stock_out = ProductFactory(stock=0)  # stock is checked at checkout, not here
    cart = cart_add_item(holder=holder, product_id=stock_out.pk, quantity=2)
    assert lines(cart) == {stock_out.pk: 2}


def test_lines_are_changed_and_removed_only_by_their_holder() -> None:
    mine = Holder(user=UserFactory(), token=None)
    theirs, _ = anonymous()
    product = ProductFactory()
    cart = cart_add_item(holder=mine, product_id=product.pk, quantity=1)
    line = CartLine.objects.get(cart=cart)

    with pytest.raises(NotFound):
        cart_update_item(holder=theirs, line_id=line.pk, quantity=4)
    with pytest.raises(NotFound):
        cart_remove_item(holder=theirs, line_id=line.pk)
    assert lines(cart) == {product.pk: 1}

    cart_update_item(holder=mine, line_id=line.pk, quantity=4)
    assert lines(cart) == {product.pk: 4}
    for quantity in (0, MAX_LINE_QUANTITY + 1):
        with pytest.raises(ValidationFailed):
            cart_update_item(holder=mine, line_id=line.pk, quantity=quantity)
    cart_remove_item(holder=mine, line_id=line.pk)
    assert lines(cart) == {}


def test_clear_empties_the_cart_and_keeps_it() -> None:
    holder, cart = anonymous()
    for product in ProductFactory.create_batch(2):
        cart_add_item(holder=holder, product_id=product.pk, quantity=1)
    assert cart_clear(holder=holder).pk == cart.pk
    assert lines(cart) == {}
    assert cart_get(holder=holder).pk == cart.pk


def test_a_user_sending_a_token_absorbs_that_anonymous_cart() -> None:
    user = UserFactory()
    shared, only_mine, only_theirs = ProductFactory.create_batch(3)
    mine = cart_add_item(holder=Holder(user=user, token=None), product_id=shared.pk, quantity=2)
    cart_add_item(holder=Holder(user=user, token=None), product_id=only_mine.pk, quantity=1)
    theirs, anonymous_cart = anonymous()
    cart_add_item(holder=theirs, product_id=shared.pk, quantity=MAX_LINE_QUANTITY - 1)
    cart_add_item(holder=theirs, product_id=only_theirs.pk, quantity=3)
    moved = CartLine.objects.get(cart=anonymous_cart, product=only_theirs)

    merged = cart_get(holder=Holder(user=user, token=theirs.token))

    assert merged.pk == mine.pk
    assert lines(merged) == {
        shared.pk: MAX_LINE_QUANTITY,  # added up, capped
        only_mine.pk: 1,
        only_theirs.pk: 3,
    }
    assert CartLine.objects.get(pk=moved.pk).cart_id == mine.pk  # moved: its id still works
    assert not Cart.objects.filter(pk=anonymous_cart.pk).exists()
    with pytest.raises(NotFound):  # the token stops working
        cart_get(holder=theirs)
    # Sending the spent token again merges nothing.
    assert lines(cart_get(holder=Holder(user=user, token=theirs.token))) == lines(merged)


def variant_lines(cart: Cart) -> dict[int, int]:
    return dict(CartLine.objects.filter(cart=cart).values_list("variant_id", "quantity"))


def test_a_merge_goes_by_variant_not_by_product() -> None:
    user = UserFactory()
    _, (small, medium, large) = variant_product()
    mine = cart_add_item(holder=Holder(user=user, token=None), variant_id=small.pk, quantity=1)
    cart_add_item(holder=Holder(user=user, token=None), variant_id=medium.pk, quantity=2)
    theirs, _ = anonymous()
    cart_add_item(holder=theirs, variant_id=medium.pk, quantity=3)
    cart_add_item(holder=theirs, variant_id=large.pk, quantity=4)

    merged = cart_get(holder=Holder(user=user, token=theirs.token))

    assert merged.pk == mine.pk
    assert variant_lines(merged) == {small.pk: 1, medium.pk: 5, large.pk: 4}


def test_a_product_with_several_variants_needs_a_variant_id() -> None:
    holder = Holder(user=UserFactory(), token=None)
    shirt, (small, medium, large) = variant_product()
    with pytest.raises(ValidationFailed) as refused:
        cart_add_item(holder=holder, product_id=shirt.pk, quantity=1)
    assert refused.value.extra == {
        "field": "product_id",
        "variant_ids": [small.pk, medium.pk, large.pk],
    }
    with pytest.raises(ValidationFailed, match="exactly one"):
        cart_add_item(holder=holder, quantity=1)
    with pytest.raises(ValidationFailed, match="exactly one"):
        cart_add_item(holder=holder, product_id=shirt.pk, variant_id=small.pk, quantity=1)
    assert not CartLine.objects.exists()


def test_a_merge_into_a_user_without_a_cart_creates_it() -> None:
    user = UserFactory()
    theirs, _ = anonymous()
    product = ProductFactory()
    cart_add_item(holder=theirs, product_id=product.pk, quantity=2)

    created = cart_create(holder=Holder(user=user, token=theirs.token))

    assert created.created
    assert created.cart.user == user
    assert lines(created.cart) == {product.pk: 2}


def test_prune_deletes_only_stale_open_anonymous_carts() -> None:
    now = timezone.now()
    stale_holder, stale = anonymous()
    _, fresh = anonymous()
    users = Cart.objects.create(user=UserFactory())
    closed = Cart.objects.create(token_hash=hash_token("closed"), closed_at=now)
    cart_add_item(holder=stale_holder, product_id=ProductFactory().pk, quantity=1)
    long_ago = now - timedelta(days=31)
    Cart.objects.filter(pk__in=[stale.pk, users.pk, closed.pk]).update(updated_at=long_ago)

    assert carts_prune(now=now, batch_size=1) == 1

    assert set(Cart.objects.values_list("pk", flat=True)) == {fresh.pk, users.pk, closed.pk}
    assert not CartLine.objects.filter(cart_id=stale.pk).exists()
    assert Product.objects.count() == 1  # the product stays
