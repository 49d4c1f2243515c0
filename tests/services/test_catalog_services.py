from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from nexus_shop.exceptions import Conflict, NotFound, ValidationFailed
from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.services import catalog as services
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_services_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        services.product_create("name", "sku", Decimal(1), 1)  # type: ignore[call-arg]  # positional on purpose


def test_category_create_sets_the_materialised_path() -> None:
    root = services.category_create(name="Root")
    child = services.category_create(name="Child", parent_id=root.pk)
    assert (root.path, child.path) == (f"/{root.pk}/", f"/{root.pk}/{child.pk}/")


def test_category_slugs_fall_back_when_the_name_has_no_letters() -> None:
    assert services.category_create(name="!!!").slug == "category"
    assert services.category_create(name="???").slug == "category-2"


def test_moving_a_subtree_rewrites_every_descendant_path() -> None:
    a, b = services.category_create(name="A"), services.category_create(name="B")
    child = services.category_create(name="C", parent_id=a.pk)
    leaf = services.category_create(name="D", parent_id=child.pk)
    services.category_update(category_id=child.pk, parent_id=b.pk)
    leaf.refresh_from_db()
    assert leaf.path == f"/{b.pk}/{child.pk}/{leaf.pk}/"
    a.refresh_from_db()
    assert a.path == f"/{a.pk}/"


def test_a_failed_move_changes_nothing() -> None:
    root = services.category_create(name="Root")
    child = services.category_create(name="Child", parent_id=root.pk)
    with pytest.raises(ValidationFailed):
        services.category_update(category_id=root.pk, parent_id=child.pk, name="Renamed")
    root.refresh_from_db()
    assert (root.name, root.parent_id) == ("Root", None)


def test_category_delete_refuses_non_empty_categories() -> None:
    parent = CategoryFactory()
    CategoryFactory(parent=parent)
    with pytest.raises(Conflict):
        services.category_delete(category_id=parent.pk)


def test_product_create_derives_a_free_slug() -> None:
    first = services.product_create(name="Desk Lamp", sku="L1", price=Decimal("9.99"), stock=1)
    second = services.product_create(name="Desk Lamp", sku="L2", price=Decimal("9.99"), stock=1)
    ProductFactory(slug="desk-lamp-3", deleted_at=timezone.now())  # deleted: its slug is free
    third = services.product_create(name="Desk Lamp", sku="L3", price=Decimal("9.99"), stock=1)
    assert [first.slug, second.slug, third.slug] == ["desk-lamp", "desk-lamp-2", "desk-lamp-3"]


def test_product_create_rolls_back_on_conflict() -> None:
    ProductFactory(sku="DUP")
    with pytest.raises(Conflict):
        services.product_create(name="X", sku="DUP", price=Decimal(1), stock=1)
    assert Product.all_objects.count() == 1


def test_soft_delete_then_restore() -> None:
    product = ProductFactory()
    services.product_soft_delete(product_id=product.pk)
    assert not Product.objects.filter(pk=product.pk).exists()
    assert Product.all_objects.filter(pk=product.pk, deleted_at__isnull=False).exists()
    with pytest.raises(NotFound):
        services.product_soft_delete(product_id=product.pk)
    restored = services.product_restore(product_id=product.pk)
    assert restored.deleted_at is None
    # Restoring a live product is a no-op, not an error.
    assert services.product_restore(product_id=product.pk).pk == product.pk


def test_price_check_constraint_is_in_the_database() -> None:
    from django.db import IntegrityError, transaction

    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=Decimal("-1"))


def test_updating_a_product_deleted_meanwhile_is_not_found() -> None:
    product = ProductFactory()
    stale = Product.objects.get(pk=product.pk)
    services.product_soft_delete(product_id=product.pk)
    with pytest.raises(NotFound):
        services.product_update(product_id=stale.pk, stock=1)


def test_updating_a_category_deleted_meanwhile_is_not_found() -> None:
    category = CategoryFactory()
    stale = Category.objects.get(pk=category.pk)
    services.category_delete(category_id=category.pk)
    with pytest.raises(NotFound):
        services.category_update(category_id=stale.pk, name="x")


def test_a_put_without_price_stock_or_variants_keeps_them() -> None:
    """What an old client's PUT leaves out of a product it never saw variants of."""
    product = services.product_create(name="Mug", sku="MUG", price=Decimal("4.00"), stock=6)
    services.product_update(
        product_id=product.pk, name="Big mug", sku="MUG", price=None, stock=None, variants=None
    )
    product.refresh_from_db()
    assert (product.name, product.price, product.stock) == ("Big mug", Decimal("4.00"), 6)
    (variant,) = ProductVariant.objects.filter(product=product)
    assert (variant.sku, variant.price, variant.stock) == ("MUG", Decimal("4.00"), 6)


def test_product_soft_delete_deletes_its_variants_at_the_same_instant() -> None:
    product = services.product_create(name="Mug", sku="MUG", price=Decimal("4.00"), stock=6)
    services.product_soft_delete(product_id=product.pk)
    deleted = Product.all_objects.get(pk=product.pk)
    variant = ProductVariant.all_objects.get(product=product)
    assert variant.deleted_at == deleted.deleted_at is not None
    services.product_restore(product_id=product.pk)
    assert ProductVariant.objects.get(product=product).pk == variant.pk
