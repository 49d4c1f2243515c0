from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from nexus_shop import versions
from nexus_shop.exceptions import Conflict, NotFound, PreconditionFailed, ValidationFailed
from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.selectors.categories import category_written
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


# Category soft delete and restore --------------------------------------------------------------


def test_category_delete_is_a_soft_delete_then_restore() -> None:
    category = CategoryFactory()
    services.category_delete(category_id=category.pk)
    assert not Category.objects.filter(pk=category.pk).exists()
    assert Category.all_objects.filter(pk=category.pk, deleted_at__isnull=False).exists()
    with pytest.raises(NotFound):
        services.category_delete(category_id=category.pk)
    restored = services.category_restore(category_id=category.pk)
    assert restored.deleted_at is None
    assert Category.objects.filter(pk=category.pk).exists()
    # Restoring a live category is a no-op, not an error.
    assert services.category_restore(category_id=category.pk).pk == category.pk


def test_category_restore_of_a_missing_category_is_not_found() -> None:
    with pytest.raises(NotFound):
        services.category_restore(category_id=987654)


def test_category_delete_counts_live_children_only() -> None:
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    services.category_delete(category_id=child.pk)
    services.category_delete(category_id=parent.pk)  # its one child is deleted
    assert not Category.objects.filter(pk__in=[parent.pk, child.pk]).exists()


def test_category_delete_still_refuses_a_category_with_deleted_products() -> None:
    category = CategoryFactory()
    ProductFactory(category=category, deleted_at=timezone.now())
    with pytest.raises(Conflict):
        services.category_delete(category_id=category.pk)
    assert Category.objects.filter(pk=category.pk).exists()


def test_a_child_is_restored_after_its_parent() -> None:
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    services.category_delete(category_id=child.pk)
    services.category_delete(category_id=parent.pk)
    with pytest.raises(Conflict) as refused:
        services.category_restore(category_id=child.pk)
    assert refused.value.extra == {"field": "parent_id"}
    assert "restore the parent first" in refused.value.message
    assert Category.all_objects.get(pk=child.pk).deleted_at is not None
    services.category_restore(category_id=parent.pk)
    # The parent comes back alone; its child when asked.
    assert not Category.objects.filter(pk=child.pk).exists()
    assert services.category_restore(category_id=child.pk).parent_id == parent.pk


def test_a_deleted_categorys_slug_is_free_and_restoring_it_then_conflicts() -> None:
    old = CategoryFactory(slug="audio")
    services.category_delete(category_id=old.pk)
    new = services.category_create(name="Audio", slug="audio")
    assert services.category_create(name="Audio").slug == "audio-2"  # derived: next free
    with pytest.raises(Conflict) as refused:
        services.category_restore(category_id=old.pk)
    assert refused.value.extra == {"field": "slug"}
    assert Category.all_objects.get(pk=old.pk).deleted_at is not None
    services.category_update(category_id=new.pk, slug="audio-new")
    assert services.category_restore(category_id=old.pk).slug == "audio"


def test_a_derived_slug_may_take_a_deleted_categorys() -> None:
    old = services.category_create(name="Lamps")
    services.category_delete(category_id=old.pk)
    assert services.category_create(name="Lamps").slug == "lamps"


def test_nothing_can_be_filed_under_a_deleted_category() -> None:
    """Refused as a missing category is (422 with the field), for every write pointing at one."""
    deleted = CategoryFactory()
    services.category_delete(category_id=deleted.pk)
    live = CategoryFactory()
    product = ProductFactory()
    writes: dict[str, list[Callable[[], object]]] = {
        "parent_id": [
            lambda: services.category_create(name="Under", parent_id=deleted.pk),
            lambda: services.category_update(category_id=live.pk, parent_id=deleted.pk),
        ],
        "category_id": [
            lambda: services.product_create(
                name="P", sku="P-1", price=Decimal(1), stock=1, category_id=deleted.pk
            ),
            lambda: services.product_update(product_id=product.pk, category_id=deleted.pk),
        ],
    }
    for field, calls in writes.items():
        for call in calls:
            with pytest.raises(ValidationFailed) as refused:
                call()
            assert refused.value.extra == {"field": field}
            assert refused.value.message == f"No category with id {deleted.pk}."
    live.refresh_from_db()
    product.refresh_from_db()
    assert (live.parent_id, product.category_id) == (None, None)


def test_a_deleted_category_cannot_be_updated() -> None:
    category = CategoryFactory()
    services.category_delete(category_id=category.pk)
    with pytest.raises(NotFound):
        services.category_update(category_id=category.pk, name="Renamed")


def test_a_move_takes_deleted_descendants_along() -> None:
    a, b = services.category_create(name="A"), services.category_create(name="B")
    child = services.category_create(name="C", parent_id=a.pk)
    leaf = services.category_create(name="D", parent_id=child.pk)
    services.category_delete(category_id=leaf.pk)
    services.category_update(category_id=child.pk, parent_id=b.pk)
    restored = services.category_restore(category_id=leaf.pk)
    assert restored.path == f"/{b.pk}/{child.pk}/{leaf.pk}/"
    assert Category.objects.get(pk=leaf.pk).path == restored.path


def test_deleted_descendants_count_towards_the_depth_limit(settings: Any) -> None:
    settings.NEXUS_SHOP_CATEGORY_MAX_DEPTH = 2
    top = services.category_create(name="Top")
    mover = services.category_create(name="Mover")
    under = services.category_create(name="Under", parent_id=mover.pk)
    services.category_delete(category_id=under.pk)
    # Under Top, Mover's deleted child would be 3 deep once restored.
    with pytest.raises(ValidationFailed):
        services.category_update(category_id=mover.pk, parent_id=top.pk)


def test_category_restore_checks_if_match() -> None:
    category = CategoryFactory()
    version = versions.category_version(category_written(category_id=category.pk))
    services.category_delete(category_id=category.pk, if_match=[version])
    with pytest.raises(PreconditionFailed):
        services.category_restore(category_id=category.pk, if_match=["stale"])
    assert Category.all_objects.get(pk=category.pk).deleted_at is not None
    services.category_restore(category_id=category.pk, if_match=[version])
    assert Category.objects.filter(pk=category.pk).exists()
