"""The catalogue services emit their events: one per call, in its transaction, numbered per
resource, carrying the resource as the API shows it at that point."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nexus_shop.exceptions import Conflict, ValidationFailed
from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.services import catalog as services
from nexus_shop.services import events
from nexus_shop.services.event_payloads import category_data, product_data
from tests.factories import CategoryFactory, ProductFactory
from tests.support.outbox import Outbox, in_a_failing_transaction

pytestmark = pytest.mark.django_db


def tee(**overrides: Any) -> Product:
    return services.product_create(
        name="Tee",
        sku="TEE",
        options=[{"name": "Size", "values": ["S", "M", "L"]}],
        variants=[
            {"sku": f"TEE-{size}", "options": {"Size": size}, "price": Decimal(10), "stock": 2}
            for size in ("S", "M", "L")
        ],
        **overrides,
    )


def variant_specs(product: Product, **stocks: int) -> list[dict[str, Any]]:
    """Every live variant of ``product`` as a PUT sends it back, with new ``stocks`` by sku."""
    return [
        {
            "id": v.pk,
            "sku": v.sku,
            "options": v.options,
            "price": v.price,
            "stock": stocks.get(v.sku, v.stock),
        }
        for v in ProductVariant.objects.filter(product=product).order_by("position", "id")
    ]


# Products -------------------------------------------------------------------------------------


def test_a_products_life_is_four_events_numbered_in_order(outbox: Outbox) -> None:
    product = ProductFactory()
    resource = f"product:{product.pk}"

    services.product_update(product_id=product.pk, name="Renamed")
    updated = product_data(product_id=product.pk)
    services.product_soft_delete(product_id=product.pk)
    deleted = product_data(product_id=product.pk)
    services.product_restore(product_id=product.pk)

    new = outbox.new()
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("product.updated", resource, 1),
        ("product.deleted", resource, 2),
        ("product.restored", resource, 3),
    ]
    assert new[0].data == updated
    assert new[0].data["name"] == "Renamed"
    assert new[1].data == deleted
    assert new[1].data["variants"] == []  # a deleted product's variants went with it
    assert new[2].data == product_data(product_id=product.pk)


def test_product_create_emits_the_created_product(outbox: Outbox) -> None:
    category = CategoryFactory()

    product = tee(category_id=category.pk)

    (event,) = outbox.new()
    assert (event.type, event.resource, event.sequence) == (
        "product.created",
        f"product:{product.pk}",
        1,
    )
    assert event.data == product_data(product_id=product.pk)
    assert [v["sku"] for v in event.data["variants"]] == ["TEE-S", "TEE-M", "TEE-L"]
    assert event.data["category"]["id"] == category.pk


def test_an_update_of_many_rows_is_one_event(outbox: Outbox) -> None:
    product = tee()
    outbox.new()

    specs = variant_specs(product)
    specs[0]["price"] = Decimal(11)
    specs[1]["price"] = Decimal(12)
    services.product_update(
        product_id=product.pk,
        name="Tee, repriced",
        variants=[
            *specs[:2],
            {"sku": "TEE-XL", "options": {"Size": "L"}, "price": Decimal(9), "stock": 1},
        ],
    )  # two variants rewritten, one deleted, one created

    assert (
        outbox.one("product.updated")["variants"] == product_data(product_id=product.pk)["variants"]
    )


def test_a_staff_stock_edit_across_zero_is_an_inventory_event_too(outbox: Outbox) -> None:
    product = ProductFactory(stock=3)
    variant = ProductVariant.objects.get(product=product)
    outbox.new()

    services.product_update(product_id=product.pk, stock=0)
    services.product_update(product_id=product.pk, stock=2)
    services.product_update(product_id=product.pk, stock=5)  # stays in stock: no inventory

    resource = f"product:{product.pk}"
    new = outbox.new()
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("inventory.out_of_stock", resource, 1),
        ("product.updated", resource, 2),
        ("inventory.back_in_stock", resource, 3),
        ("product.updated", resource, 4),
        ("product.updated", resource, 5),
    ]
    assert new[0].data == {
        "product_id": product.pk,
        "variant_id": variant.pk,
        "sku": variant.sku,
        "stock": 0,
    }
    assert new[2].data["stock"] == 2


def test_a_put_announces_each_variant_that_crossed_zero(outbox: Outbox) -> None:
    product = tee()
    outbox.new()

    services.product_update(
        product_id=product.pk, variants=variant_specs(product, **{"TEE-S": 0, "TEE-M": 0})
    )

    new = outbox.new()
    assert [(e.type, e.data["sku"]) for e in new[:2]] == [
        ("inventory.out_of_stock", "TEE-S"),
        ("inventory.out_of_stock", "TEE-M"),
    ]
    assert [e.type for e in new[2:]] == ["product.updated"]


def test_restoring_a_live_product_changes_nothing_and_emits_nothing(outbox: Outbox) -> None:
    product = ProductFactory()

    services.product_restore(product_id=product.pk)

    assert outbox.new() == []


def test_a_refused_write_emits_nothing(outbox: Outbox) -> None:
    ProductFactory(sku="TAKEN")
    product = ProductFactory()
    outbox.new()

    with pytest.raises(Conflict):
        services.product_update(product_id=product.pk, sku="TAKEN")
    with pytest.raises(ValidationFailed):
        services.product_create(name="No price", sku="NP")

    assert outbox.new() == []


# Categories -----------------------------------------------------------------------------------


def test_a_categorys_life_is_four_events(outbox: Outbox) -> None:
    parent = CategoryFactory()

    category = services.category_create(name="Audio", parent_id=parent.pk)
    created = category_data(category_id=category.pk)
    services.category_update(category_id=category.pk, name="Sound", parent_id=None)
    updated = category_data(category_id=category.pk)
    services.category_delete(category_id=category.pk)
    deleted = category_data(category_id=category.pk)
    services.category_restore(category_id=category.pk)

    resource = f"category:{category.pk}"
    new = outbox.new()
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("category.created", resource, 1),
        ("category.updated", resource, 2),
        ("category.deleted", resource, 3),
        ("category.restored", resource, 4),
    ]
    assert new[0].data == created
    assert new[0].data["parent_id"] == parent.pk
    assert new[1].data == updated
    assert (updated["name"], updated["parent_id"]) == ("Sound", None)
    # Soft-deleted: the event carries the deleted category (CategoryOut has no deletion
    # state, so it reads as it did just before), and the restore the live one again.
    assert new[2].data == deleted == updated
    assert new[3].data == category_data(category_id=category.pk) == updated
    assert Category.objects.filter(pk=category.pk).exists()


def test_a_refused_category_delete_emits_nothing(outbox: Outbox) -> None:
    category = CategoryFactory()
    ProductFactory(category=category)

    with pytest.raises(Conflict):
        services.category_delete(category_id=category.pk)

    assert outbox.new() == []


def test_a_refused_or_idle_category_restore_emits_nothing(outbox: Outbox) -> None:
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    services.category_delete(category_id=child.pk)
    services.category_delete(category_id=parent.pk)
    outbox.new()

    with pytest.raises(Conflict):
        services.category_restore(category_id=child.pk)  # its parent is deleted
    services.category_restore(category_id=parent.pk)
    services.category_restore(category_id=parent.pk)  # live already: a no-op

    assert [e.type for e in outbox.new()] == ["category.restored"]


# Transactions ---------------------------------------------------------------------------------


def test_a_call_rolled_back_by_its_caller_leaves_no_event(outbox: Outbox) -> None:
    product = ProductFactory()
    category = CategoryFactory()

    in_a_failing_transaction(
        lambda: services.product_update(product_id=product.pk, name="Never"),
        lambda: services.product_soft_delete(product_id=product.pk),
        lambda: services.category_create(name="Never"),
        lambda: services.category_delete(category_id=category.pk),
        lambda: services.category_restore(category_id=category.pk),
    )

    assert outbox.new() == []
    assert Product.objects.get(pk=product.pk).name != "Never"


def test_suppressed_writes_emit_nothing(outbox: Outbox) -> None:
    product = ProductFactory()

    with events.suppressed():
        services.product_update(product_id=product.pk, name="Quiet")
        services.category_create(name="Quiet")

    assert outbox.new() == []
