"""A staff change to a variant is a ``product.updated`` of its product, and a variant whose
stock crosses zero also its ``inventory.*`` event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nexus_shop.exceptions import Conflict
from nexus_shop.models import Product, ProductVariant
from nexus_shop.services import catalog as catalog_services
from nexus_shop.services import variants as services
from nexus_shop.services.event_payloads import product_data
from tests.support.outbox import Outbox, in_a_failing_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee() -> Product:
    return catalog_services.product_create(
        name="Tee",
        sku="TEE",
        options=[{"name": "Size", "values": ["S", "M", "L"]}],
        variants=[
            {"sku": f"TEE-{size}", "options": {"Size": size}, "price": Decimal(10), "stock": 2}
            for size in ("S", "M")
        ],
    )


def variant(sku: str) -> ProductVariant:
    return ProductVariant.all_objects.get(sku=sku)


def test_each_variant_write_is_one_product_updated(tee: Product, outbox: Outbox) -> None:
    outbox.new()
    resource = f"product:{tee.pk}"

    large = services.variant_create(
        product_id=tee.pk, sku="TEE-L", price=Decimal(11), stock=1, options={"Size": "L"}
    )
    after_create = product_data(product_id=tee.pk)
    services.variant_update(product_id=tee.pk, variant_id=large.pk, price=Decimal(13))
    after_update = product_data(product_id=tee.pk)
    services.variant_soft_delete(product_id=tee.pk, variant_id=large.pk)
    after_delete = product_data(product_id=tee.pk)
    services.variant_restore(product_id=tee.pk, variant_id=large.pk)

    new = outbox.new()
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("product.updated", resource, 2),  # 1 was product.created
        ("product.updated", resource, 3),
        ("product.updated", resource, 4),
        ("product.updated", resource, 5),
    ]
    assert [e.data for e in new[:3]] == [after_create, after_update, after_delete]
    assert [v["sku"] for v in after_create["variants"]] == ["TEE-S", "TEE-M", "TEE-L"]
    assert after_update["variants"][2]["price"] == "13.00"
    assert [v["sku"] for v in after_delete["variants"]] == ["TEE-S", "TEE-M"]
    assert new[3].data == product_data(product_id=tee.pk)


def test_restoring_a_live_variant_emits_nothing(tee: Product, outbox: Outbox) -> None:
    outbox.new()

    services.variant_restore(product_id=tee.pk, variant_id=variant("TEE-S").pk)

    assert outbox.new() == []


@pytest.mark.parametrize(
    ("out", "back"),
    [({"stock": 0}, {"stock": 3}), ({"stock_delta": -2}, {"stock_delta": 3})],
    ids=["stock", "stock_delta"],
)
def test_stock_across_zero_is_announced_before_the_update(
    tee: Product, outbox: Outbox, out: dict[str, Any], back: dict[str, Any]
) -> None:
    small = variant("TEE-S")
    outbox.new()

    services.variant_update(product_id=tee.pk, variant_id=small.pk, **out)
    services.variant_update(product_id=tee.pk, variant_id=small.pk, **back)

    new = outbox.new()
    assert [e.type for e in new] == [
        "inventory.out_of_stock",
        "product.updated",
        "inventory.back_in_stock",
        "product.updated",
    ]
    assert new[0].data == {"product_id": tee.pk, "variant_id": small.pk, "sku": "TEE-S", "stock": 0}
    assert new[2].data == {"product_id": tee.pk, "variant_id": small.pk, "sku": "TEE-S", "stock": 3}
    assert [e.sequence for e in new] == [2, 3, 4, 5]


def test_stock_that_stays_above_zero_is_no_inventory_event(tee: Product, outbox: Outbox) -> None:
    outbox.new()

    services.variant_update(product_id=tee.pk, variant_id=variant("TEE-S").pk, stock_delta=-1)

    assert [e.type for e in outbox.new()] == ["product.updated"]


def test_a_refused_variant_write_emits_nothing(tee: Product, outbox: Outbox) -> None:
    outbox.new()

    with pytest.raises(Conflict):
        services.variant_update(product_id=tee.pk, variant_id=variant("TEE-S").pk, stock_delta=-5)
    with pytest.raises(Conflict):
        services.variant_create(
            product_id=tee.pk, sku="TEE-M", price=Decimal(1), stock=1, options={"Size": "L"}
        )

    assert outbox.new() == []


def test_a_variant_write_rolled_back_by_its_caller_leaves_no_event(
    tee: Product, outbox: Outbox
) -> None:
    outbox.new()

    in_a_failing_transaction(
        lambda: services.variant_update(product_id=tee.pk, variant_id=variant("TEE-S").pk, stock=0)
    )

    assert outbox.new() == []
    assert variant("TEE-S").stock == 2
