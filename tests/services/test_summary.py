"""services.summary: the product's summary columns always equal what its variants say."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from nexus_shop.exceptions import Conflict, ValidationFailed
from nexus_shop.models import Product, ProductVariant, VariantOption
from nexus_shop.models.catalog import MAX_STOCK
from nexus_shop.services import catalog as services
from nexus_shop.services import variants as variant_services
from nexus_shop.services.catalog import product_create
from nexus_shop.services.summary import option_rows_drift, refresh_summary, summary_drift
from nexus_shop.services.variants import variant_update

pytestmark = pytest.mark.django_db

SIZES = ["S", "M", "L", "XL"]
COLOURS = ["Red", "Blue", "Green"]
OPTIONS = [{"name": "Size", "values": SIZES}, {"name": "Colour", "values": COLOURS}]


def _tee(n: int) -> Product:
    return services.product_create(
        name=f"Tee {n}",
        sku=f"TEE{n}",
        options=OPTIONS,
        variants=[
            {
                "sku": f"T{n}-S-R",
                "price": Decimal("10"),
                "stock": 3,
                "options": {"Size": "S", "Colour": "Red"},
            },
            {
                "sku": f"T{n}-M-B",
                "price": Decimal("14"),
                "stock": 0,
                "options": {"Size": "M", "Colour": "Blue"},
            },
        ],
    )


def test_refresh_summary_of_active_variants() -> None:
    product = _tee(1)
    product.refresh_from_db()
    assert (product.price, product.price_max, product.stock) == (Decimal("10"), Decimal("14"), 3)
    assert product.active_variant_count == 2
    assert product.option_words == "S Red M Blue"


def test_inactive_variants_count_for_nothing_but_the_price_while_none_is_active() -> None:
    product = _tee(1)
    cheap, dear = ProductVariant.objects.filter(product=product).order_by("price")
    variant_services.variant_update(product_id=product.pk, variant_id=cheap.pk, is_active=False)
    product.refresh_from_db()
    assert (product.price, product.price_max, product.stock) == (Decimal("14"), Decimal("14"), 0)
    variant_services.variant_update(product_id=product.pk, variant_id=dear.pk, is_active=False)
    product.refresh_from_db()
    # None active: the price still comes from the live variants, so it is never null.
    assert (product.price, product.price_max, product.active_variant_count) == (
        Decimal("10"),
        Decimal("14"),
        0,
    )


def test_summary_drift_finds_a_product_whose_columns_disagree() -> None:
    product = _tee(1)
    assert summary_drift() == []
    for column, value in (("stock", 99), ("price", Decimal("1")), ("option_words", "x")):
        Product.objects.filter(pk=product.pk).update(**{column: value})
        assert summary_drift() == [product.pk]
        refresh_summary(product_ids=[product.pk])
        assert summary_drift() == []
    ProductVariant.objects.filter(product=product).update(stock=50)  # behind the services' back
    assert summary_drift() == [product.pk]


def _option_rows(product: Product) -> set[tuple[str, str, str]]:
    return set(
        VariantOption.objects.filter(product=product).values_list("variant__sku", "name", "value")
    )


def test_option_rows_list_the_live_active_variants_only() -> None:
    product = _tee(1)
    both = {
        ("T1-S-R", "Size", "S"),
        ("T1-S-R", "Colour", "Red"),
        ("T1-M-B", "Size", "M"),
        ("T1-M-B", "Colour", "Blue"),
    }
    assert _option_rows(product) == both
    blue = ProductVariant.objects.get(sku="T1-M-B")
    variant_update(product_id=product.pk, variant_id=blue.pk, is_active=False)
    assert _option_rows(product) == {r for r in both if r[0] == "T1-S-R"}
    variant_update(product_id=product.pk, variant_id=blue.pk, is_active=True)
    assert _option_rows(product) == both
    variant_services.variant_soft_delete(product_id=product.pk, variant_id=blue.pk)
    assert _option_rows(product) == {r for r in both if r[0] == "T1-S-R"}
    variant_services.variant_restore(product_id=product.pk, variant_id=blue.pk)
    assert _option_rows(product) == both
    services.product_soft_delete(product_id=product.pk)
    assert _option_rows(product) == set()
    services.product_restore(product_id=product.pk)
    assert _option_rows(product) == both
    # The rows carry their variant's price and stock state.
    assert set(VariantOption.objects.filter(variant=blue).values_list("price", "in_stock")) == {
        (Decimal("14.00"), False)
    }
    variant_update(product_id=product.pk, variant_id=blue.pk, stock=9, price=Decimal("15"))
    assert set(VariantOption.objects.filter(variant=blue).values_list("price", "in_stock")) == {
        (Decimal("15.00"), True)
    }
    # A stock change that stays on its side of zero reads the rows and rewrites none.
    ids = set(VariantOption.objects.filter(product=product).values_list("pk", flat=True))
    variant_update(product_id=product.pk, variant_id=blue.pk, stock=8)
    assert set(VariantOption.objects.filter(product=product).values_list("pk", flat=True)) == ids
    assert option_rows_drift() == []


def test_option_rows_drift_finds_rows_that_disagree() -> None:
    product = _tee(1)
    assert option_rows_drift() == []
    ProductVariant.objects.filter(sku="T1-M-B").update(is_active=False)  # behind the back
    assert option_rows_drift() == [product.pk]
    refresh_summary(product_ids=[product.pk])
    assert option_rows_drift() == []
    VariantOption.objects.filter(product=product, value="Red").update(value_key="RED")
    assert option_rows_drift() == [product.pk]
    refresh_summary(product_ids=[product.pk])
    VariantOption.objects.filter(product=product, value="Red").update(in_stock=False)
    assert option_rows_drift() == [product.pk]


def _random_write(rng: random.Random, products: list[Product], counter: list[int]) -> None:
    product = rng.choice(products)
    live = list(ProductVariant.objects.filter(product=product))
    deleted = list(ProductVariant.all_objects.filter(product=product, deleted_at__isnull=False))
    variant = rng.choice(live)
    counter[0] += 1
    action = rng.choice(
        [
            "create",
            "price",
            "stock",
            "delta",
            "active",
            "delete",
            "restore",
            "put",
            "options",
            "spelling",
            "product",
        ]
    )
    kwargs: dict[str, Any] = {"product_id": product.pk}
    if action == "create":
        variant_services.variant_create(
            **kwargs,
            sku=f"R{counter[0]}",
            price=Decimal(rng.randint(100, 5000)) / 100,
            stock=rng.randint(0, 5),
            options={"Size": rng.choice(SIZES), "Colour": rng.choice(COLOURS)},
        )
    elif action == "price":
        variant_services.variant_update(
            **kwargs,
            variant_id=variant.pk,
            price=Decimal(rng.randint(100, 5000)) / 100,
            compare_at_price=None,
        )
    elif action == "stock":
        variant_services.variant_update(**kwargs, variant_id=variant.pk, stock=rng.randint(0, 4))
    elif action == "delta":
        variant_services.variant_update(
            **kwargs, variant_id=variant.pk, stock_delta=rng.randint(-3, 3)
        )
    elif action == "active":
        variant_services.variant_update(
            **kwargs, variant_id=variant.pk, is_active=rng.random() < 0.5
        )
    elif action == "delete":
        variant_services.variant_soft_delete(**kwargs, variant_id=variant.pk)
    elif action == "restore" and deleted:
        variant_services.variant_restore(**kwargs, variant_id=rng.choice(deleted).pk)
    elif action == "put":
        keep = rng.sample(live, k=rng.randint(1, len(live)))
        specs: list[dict[str, Any]] = [
            {
                "id": v.pk,
                "sku": v.sku,
                "price": v.price + rng.choice([0, 1]),
                "stock": rng.randint(0, 3),
                "options": v.options,
                "is_active": rng.random() < 0.8,
            }
            for v in keep
        ]
        services.product_update(product_id=product.pk, variants=specs)
    elif action == "options":
        services.product_update(
            product_id=product.pk,
            options=[
                {"name": "Size", "values": SIZES},
                {"name": "Colour", "values": rng.sample(COLOURS, 3)},
            ],
        )
    elif action == "spelling":  # the same values, spelt otherwise: the variants follow
        colours = [c.upper() if rng.random() < 0.5 else c for c in COLOURS]
        services.product_update(
            product_id=product.pk,
            options=[
                {"name": rng.choice(["Size", "SIZE"]), "values": SIZES},
                {"name": "Colour", "values": colours},
            ],
        )
    elif action == "product":
        services.product_soft_delete(product_id=product.pk)
        services.product_restore(product_id=product.pk)


@pytest.mark.parametrize("seed", range(3))
def test_the_summary_never_drifts_through_random_variant_writes(seed: int) -> None:
    rng = random.Random(seed)
    products = [_tee(n) for n in range(3)]
    counter = [0]
    refused = 0
    for _ in range(60):
        try:
            _random_write(rng, products, counter)
        except (Conflict, ValidationFailed):
            refused += 1  # a refused write stores nothing, so the summary must still agree
        assert summary_drift() == []
        assert option_rows_drift() == []
    assert refused < 60  # the walk did write


def test_a_total_stock_past_the_products_column_is_refused_and_nothing_changes() -> None:
    product = product_create(
        name="Crate",
        sku="CRATE",
        options=[{"name": "Size", "values": ["S", "L"]}],
        variants=[
            {"sku": "CRATE-S", "options": {"Size": "S"}, "price": Decimal(1), "stock": MAX_STOCK},
            {"sku": "CRATE-L", "options": {"Size": "L"}, "price": Decimal(1), "stock": 0},
        ],
    )
    large = ProductVariant.objects.get(sku="CRATE-L")
    with pytest.raises(ValidationFailed, match="at most 2,147,483,647") as refused:
        variant_update(product_id=product.pk, variant_id=large.pk, stock_delta=1)
    assert refused.value.extra == {"field": "stock"}
    large.refresh_from_db()
    assert large.stock == 0
    assert Product.objects.get(pk=product.pk).stock == MAX_STOCK
