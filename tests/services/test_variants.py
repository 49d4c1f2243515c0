"""services.variants: the rules of options and variants, and that a refused write stores nothing."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from nexus_shop import invalidation, versions
from nexus_shop.exceptions import Conflict, NotFound, PreconditionFailed, ValidationFailed
from nexus_shop.models import Product, ProductVariant, VariantOption
from nexus_shop.models.catalog import MAX_STOCK
from nexus_shop.selectors.products import attach_detail
from nexus_shop.services import catalog as services
from nexus_shop.services import variants as variant_services
from nexus_shop.services.summary import summary_drift
from nexus_shop.services.variants import resolve_combination

pytestmark = pytest.mark.django_db

SIZES = {"name": "Size", "values": ["S", "M", "L"]}
COLOURS = {"name": "Colour", "values": ["Red", "Blue"]}


def _variant(sku: str, price: str = "10.00", stock: int = 5, **options: str) -> dict[str, Any]:
    return {"sku": sku, "price": Decimal(price), "stock": stock, "options": options}


def make_tee(**overrides: Any) -> Product:
    """A T-shirt in S/M/L x Red/Blue with three variants: S-Red, M-Red, L-Blue."""
    values: dict[str, Any] = {
        "name": "Tee",
        "sku": "TEE",
        "options": [SIZES, COLOURS],
        "variants": [
            _variant("TEE-S-R", "10.00", 5, Size="S", Colour="Red"),
            _variant("TEE-M-R", "12.00", 0, Size="M", Colour="Red"),
            _variant("TEE-L-B", "15.00", 2, Size="L", Colour="Blue"),
        ],
    }
    values.update(overrides)
    return services.product_create(**values)


def _live(product: Product) -> dict[str, ProductVariant]:
    return {v.sku: v for v in ProductVariant.objects.filter(product=product)}


def _snapshot() -> tuple[Any, ...]:
    """Everything a refused write must leave as it was."""
    return (
        list(Product.all_objects.order_by("pk").values()),
        list(ProductVariant.all_objects.order_by("pk").values()),
        sorted(VariantOption.objects.values_list("variant_id", "name_key", "value_key")),
    )


# resolve_combination ------------------------------------------------------------------------


def test_resolve_combination_matches_names_and_values_ignoring_case() -> None:
    display, key = resolve_combination([SIZES, COLOURS], {"colour": "RED", "SIZE": "m"})
    assert display == {"Size": "M", "Colour": "Red"}
    assert key == "m\x1fred"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Size": "M"}, "needs a value for option 'Colour'"),
        ({"Size": "M", "Colour": "Red", "Fit": "Slim"}, "no option named 'Fit'"),
        ({"Size": "XL", "Colour": "Red"}, "'XL' is not a value of option 'Size'"),
        ({"Size": "M", "size": "L", "Colour": "Red"}, "named twice"),
    ],
)
def test_resolve_combination_refuses_incomplete_unknown_and_repeated(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        resolve_combination([SIZES, COLOURS], values)


# Create ----------------------------------------------------------------------------------------


def test_create_with_variants_stores_them_their_option_rows_and_the_summary() -> None:
    product = make_tee()
    variants = _live(product)
    assert set(variants) == {"TEE-S-R", "TEE-M-R", "TEE-L-B"}
    assert variants["TEE-M-R"].options == {"Size": "M", "Colour": "Red"}
    assert [v.position for v in ProductVariant.objects.filter(product=product)] == [0, 1, 2]
    rows = set(
        VariantOption.objects.filter(variant=variants["TEE-L-B"]).values_list(
            "name", "value", "name_key", "value_key"
        )
    )
    assert rows == {("Size", "L", "size", "l"), ("Colour", "Blue", "colour", "blue")}
    product.refresh_from_db()
    assert (product.price, product.price_max, product.stock) == (
        Decimal("10.00"),
        Decimal("15.00"),
        7,
    )
    assert product.active_variant_count == 3
    assert product.options == [SIZES, COLOURS]
    assert summary_drift() == []


def test_create_without_options_makes_one_default_variant_with_the_product_sku() -> None:
    product = services.product_create(name="Mug", sku="MUG-1", price=Decimal("7.5"), stock=4)
    (variant,) = ProductVariant.objects.filter(product=product)
    assert (variant.sku, variant.price, variant.stock, variant.options) == (
        "MUG-1",
        Decimal("7.50"),
        4,
        {},
    )
    assert variant.combination == ""


def test_a_product_without_options_has_exactly_one_variant() -> None:
    with pytest.raises(ValidationFailed, match="exactly one variant"):
        services.product_create(
            name="Mug", sku="MUG", variants=[_variant("MUG"), _variant("MUG-2")]
        )
    assert not Product.all_objects.exists()


def test_the_default_variant_takes_the_product_sku() -> None:
    with pytest.raises(ValidationFailed, match="whose sku is the product's"):
        services.product_create(name="Mug", sku="MUG", variants=[_variant("OTHER")])
    assert not Product.all_objects.exists()


def test_options_need_their_variants_and_variants_their_prices() -> None:
    with pytest.raises(ValidationFailed, match="needs its variants"):
        services.product_create(name="Tee", sku="T", options=[SIZES], price=Decimal(1), stock=1)
    with pytest.raises(ValidationFailed, match="price and stock are required"):
        services.product_create(name="Mug", sku="M", price=Decimal(1))
    with pytest.raises(ValidationFailed, match="belong to each variant"):
        make_tee(price=Decimal(1))
    assert not Product.all_objects.exists()


@pytest.mark.parametrize(
    ("variants", "error", "message"),
    [
        (
            [_variant("A", Size="S", Colour="Red"), _variant("B", Size="s", Colour="RED")],
            ValidationFailed,
            "same option values",
        ),
        ([_variant("A", Size="S")], ValidationFailed, "needs a value for option 'Colour'"),
        ([_variant("A", Size="S", Colour="Green")], ValidationFailed, "'Green' is not a value"),
        (
            [_variant("A", Size="S", Colour="Red", Fit="Slim")],
            ValidationFailed,
            "no option named 'Fit'",
        ),
        (
            [_variant("A", Size="S", Colour="Red"), _variant("A", Size="M", Colour="Red")],
            Conflict,
            "Two variants have sku 'A'",
        ),
        (
            [{**_variant("A", "10", Size="S", Colour="Red"), "compare_at_price": Decimal("10")}],
            ValidationFailed,
            "compare_at_price",
        ),
    ],
)
def test_bad_variants_on_create_store_nothing(
    variants: list[dict[str, Any]], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make_tee(variants=variants)
    assert not Product.all_objects.exists()
    assert not ProductVariant.all_objects.exists()


def test_a_sku_another_products_live_variant_has_is_a_409_and_nothing_is_stored() -> None:
    make_tee()
    before = _snapshot()
    with pytest.raises(Conflict, match="sku 'TEE-M-R' already exists"):
        make_tee(
            sku="TEE2",
            slug="tee2",
            variants=[_variant("TEE-M-R", Size="M", Colour="Red")],
        )
    with pytest.raises(Conflict, match="sku 'TEE-S-R'"):
        services.product_create(name="Mug", sku="TEE-S-R", price=Decimal(1), stock=1)
    assert _snapshot() == before


def test_a_soft_deleted_variants_sku_is_free_again() -> None:
    product = make_tee()
    variant_services.variant_soft_delete(
        product_id=product.pk, variant_id=_live(product)["TEE-M-R"].pk
    )
    services.product_create(name="Mug", sku="TEE-M-R", price=Decimal(1), stock=1)


def test_more_than_250_variants_is_refused() -> None:
    values = [f"V{i}" for i in range(100)]
    options = [{"name": "A", "values": values}, {"name": "B", "values": values[:3]}]
    variants = [_variant(f"X{i}-{j}", A=f"V{i}", B=f"V{j}") for i in range(84) for j in range(3)]
    assert len(variants) == 252
    with pytest.raises(ValidationFailed, match="at most 250 variants"):
        make_tee(options=options, variants=variants)
    assert not Product.all_objects.exists()


# PUT (product_update with options and variants) -----------------------------------------------


def _spec(variant: ProductVariant, **changes: Any) -> dict[str, Any]:
    spec = {
        "id": variant.pk,
        "sku": variant.sku,
        "price": variant.price,
        "stock": variant.stock,
        "options": dict(variant.options),
    }
    spec.update(changes)
    return spec


def test_put_updates_listed_creates_new_and_soft_deletes_left_out_variants() -> None:
    product = make_tee()
    live = _live(product)
    services.product_update(
        product_id=product.pk,
        variants=[
            _spec(live["TEE-S-R"], price=Decimal("9.00")),
            _spec(live["TEE-M-R"], stock=3),
            _variant("TEE-S-B", "11.00", 1, Size="S", Colour="Blue"),
        ],
    )
    after = _live(product)
    assert set(after) == {"TEE-S-R", "TEE-M-R", "TEE-S-B"}
    assert after["TEE-S-R"].pk == live["TEE-S-R"].pk
    assert after["TEE-S-R"].price == Decimal("9.00")
    assert after["TEE-M-R"].stock == 3
    gone = ProductVariant.all_objects.get(pk=live["TEE-L-B"].pk)
    assert gone.deleted_at is not None  # soft, never hard: orders point at it
    product.refresh_from_db()
    assert (product.price, product.price_max, product.stock) == (
        Decimal("9.00"),
        Decimal("12.00"),
        9,
    )
    assert summary_drift() == []


def test_put_without_variants_leaves_them_unchanged() -> None:
    product = make_tee()
    before = list(ProductVariant.all_objects.order_by("pk").values())
    services.product_update(product_id=product.pk, name="Better tee")
    services.product_update(product_id=product.pk, name="Best tee", variants=None)
    assert list(ProductVariant.all_objects.order_by("pk").values()) == before


def test_put_may_swap_two_variants_skus_and_combinations() -> None:
    product = make_tee()
    live = _live(product)
    s, m = live["TEE-S-R"], live["TEE-M-R"]
    services.product_update(
        product_id=product.pk,
        variants=[
            _spec(s, sku="TEE-M-R", options={"Size": "M", "Colour": "Red"}),
            _spec(m, sku="TEE-S-R", options={"Size": "S", "Colour": "Red"}),
            _spec(live["TEE-L-B"]),
        ],
    )
    after = _live(product)
    assert after["TEE-M-R"].pk == s.pk
    assert after["TEE-S-R"].pk == m.pk
    assert after["TEE-M-R"].combination == "m\x1fred"
    assert not any(v.sku.startswith("\x1e") for v in ProductVariant.all_objects.all())


def test_put_with_an_unknown_variant_id_is_refused() -> None:
    product = make_tee()
    other = services.product_create(name="Mug", sku="MUG", price=Decimal(1), stock=1)
    before = _snapshot()
    foreign = ProductVariant.objects.get(product=other)
    with pytest.raises(ValidationFailed, match=f"No live variant with id {foreign.pk}"):
        services.product_update(
            product_id=product.pk,
            variants=[_spec(foreign, options={"Size": "S", "Colour": "Red"})],
        )
    assert _snapshot() == before


def test_put_new_options_must_fit_variants_that_stay() -> None:
    product = make_tee()
    before = _snapshot()
    with pytest.raises(ValidationFailed, match="Option 'Colour' cannot be removed while"):
        services.product_update(product_id=product.pk, options=[SIZES])
    with pytest.raises(ValidationFailed, match="Value 'L' cannot be removed from option 'Size'"):
        services.product_update(
            product_id=product.pk, options=[{"name": "Size", "values": ["S", "M"]}, COLOURS]
        )
    with pytest.raises(ValidationFailed, match="no value for the new option 'Fit'"):
        services.product_update(
            product_id=product.pk,
            options=[SIZES, COLOURS, {"name": "Fit", "values": ["Slim"]}],
        )
    assert _snapshot() == before


def test_put_may_add_a_value_or_rename_a_values_case_without_sending_variants() -> None:
    product = make_tee()
    services.product_update(
        product_id=product.pk,
        options=[{"name": "Size", "values": ["s", "M", "L", "XL"]}, COLOURS],
    )
    product.refresh_from_db()
    assert product.options[0]["values"] == ["s", "M", "L", "XL"]
    assert _live(product)["TEE-S-R"].options == {"Size": "s", "Colour": "Red"}
    assert VariantOption.objects.filter(value="s").count() == 1


def test_put_may_drop_an_option_together_with_the_variants_using_it() -> None:
    product = make_tee()
    live = _live(product)
    services.product_update(
        product_id=product.pk,
        options=[SIZES],
        variants=[_spec(live["TEE-S-R"], options={"Size": "S"})],
    )
    (only,) = _live(product).values()
    assert only.options == {"Size": "S"}
    assert set(VariantOption.objects.filter(variant=only).values_list("name", flat=True)) == {
        "Size"
    }


def test_put_to_no_options_needs_the_one_variant_to_carry_the_product_sku() -> None:
    product = make_tee()
    live = _live(product)
    with pytest.raises(ValidationFailed, match="whose sku is the product's"):
        services.product_update(
            product_id=product.pk, options=[], variants=[_spec(live["TEE-S-R"], options={})]
        )
    services.product_update(
        product_id=product.pk, options=[], variants=[_spec(live["TEE-S-R"], options={}, sku="TEE")]
    )
    (only,) = _live(product).values()
    assert (only.sku, only.options, only.combination) == ("TEE", {}, "")


# The old single-sku writes -------------------------------------------------------------------


def test_price_and_stock_write_the_default_variant() -> None:
    product = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=0)
    services.product_update(product_id=product.pk, price=Decimal("6.50"), stock=8)
    variant = ProductVariant.objects.get(product=product)
    assert (variant.price, variant.stock) == (Decimal("6.50"), 8)
    product.refresh_from_db()
    assert (product.price, product.price_max, product.stock) == (
        Decimal("6.50"),
        Decimal("6.50"),
        8,
    )


def test_price_on_a_multi_variant_product_is_a_422_naming_the_variant_endpoint() -> None:
    product = make_tee()
    before = _snapshot()
    for change in ({"price": Decimal(1)}, {"stock": 1}):
        with pytest.raises(ValidationFailed, match=r"PATCH /api/products/\d+/variants/") as info:
            services.product_update(product_id=product.pk, name="Renamed", **change)
        assert info.value.extra["field"] in ("price", "stock")
    assert _snapshot() == before


def test_a_price_under_the_default_variants_compare_at_price_is_refused() -> None:
    product = services.product_create(
        name="Mug",
        sku="MUG",
        variants=[{**_variant("MUG", "10.00"), "compare_at_price": Decimal("12.00")}],
    )
    before = _snapshot()
    with pytest.raises(ValidationFailed, match="compare_at_price"):
        services.product_update(product_id=product.pk, price=Decimal("12.00"))
    assert _snapshot() == before
    services.product_update(product_id=product.pk, price=Decimal("11.00"))


def test_a_product_sku_change_keeps_its_default_variant_in_step() -> None:
    product = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=1)
    services.product_update(product_id=product.pk, sku="MUG-2")
    assert ProductVariant.objects.get(product=product).sku == "MUG-2"
    tee = make_tee()
    services.product_update(product_id=tee.pk, sku="TEE-NEW")
    assert set(_live(tee)) == {"TEE-S-R", "TEE-M-R", "TEE-L-B"}  # variants keep theirs


def test_a_product_sku_change_onto_another_variants_sku_is_a_409() -> None:
    make_tee()
    product = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=1)
    before = _snapshot()
    with pytest.raises(Conflict, match="TEE-S-R"):
        services.product_update(product_id=product.pk, sku="TEE-S-R")
    assert _snapshot() == before


def test_a_default_variant_sku_change_moves_the_product_sku() -> None:
    product = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=1)
    variant = ProductVariant.objects.get(product=product)
    variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, sku="MUG-B")
    product.refresh_from_db()
    assert product.sku == "MUG-B"


# variant_create ---------------------------------------------------------------------------------


def test_variant_create_adds_one_and_refreshes_the_summary() -> None:
    product = make_tee()
    variant = variant_services.variant_create(
        product_id=product.pk,
        sku="TEE-M-B",
        price=Decimal("8.00"),
        stock=4,
        options={"size": "m", "colour": "blue"},
        compare_at_price=Decimal("9.99"),
    )
    assert variant.options == {"Size": "M", "Colour": "Blue"}
    assert variant.position == 3
    product.refresh_from_db()
    assert (product.price, product.stock, product.active_variant_count) == (Decimal("8.00"), 11, 4)
    assert "Blue" in product.option_words
    assert summary_drift() == []


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"sku": "TEE-S-R", "options": {"Size": "M", "Colour": "Blue"}}, Conflict, "sku"),
        ({"sku": "NEW", "options": {"Size": "s", "Colour": "red"}}, Conflict, "same option values"),
        ({"sku": "NEW", "options": {"Size": "M"}}, ValidationFailed, "needs a value"),
        ({"sku": "NEW", "options": {"Size": "XXL", "Colour": "Red"}}, ValidationFailed, "'XXL'"),
        (
            {
                "sku": "NEW",
                "options": {"Size": "M", "Colour": "Blue"},
                "compare_at_price": Decimal("10.00"),
            },
            ValidationFailed,
            "compare_at_price",
        ),
    ],
)
def test_variant_create_refuses_bad_input_and_stores_nothing(
    values: dict[str, Any], error: type[Exception], message: str
) -> None:
    product = make_tee()
    before = _snapshot()
    with pytest.raises(error, match=message):
        variant_services.variant_create(
            product_id=product.pk, price=Decimal("10.00"), stock=1, **values
        )
    assert _snapshot() == before


def test_variant_create_on_a_product_without_options_is_refused() -> None:
    product = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=1)
    with pytest.raises(ValidationFailed, match="no options"):
        variant_services.variant_create(
            product_id=product.pk, sku="MUG-2", price=Decimal(1), stock=1
        )


def test_variant_create_stops_at_250() -> None:
    values = [f"V{i}" for i in range(100)]
    options = [{"name": "A", "values": values}, {"name": "B", "values": values[:3]}]
    variants = [_variant(f"X{i}-{j}", A=f"V{i}", B=f"V{j}") for i in range(84) for j in range(3)]
    product = make_tee(options=options, variants=variants[:250])
    with pytest.raises(ValidationFailed, match="at most 250"):
        variant_services.variant_create(
            product_id=product.pk,
            sku="ONE-MORE",
            price=Decimal(1),
            stock=1,
            options={"A": "V99", "B": "V0"},
        )
    assert ProductVariant.objects.filter(product=product).count() == 250


def test_variant_writes_on_a_missing_or_deleted_product_are_not_found() -> None:
    product = make_tee()
    services.product_soft_delete(product_id=product.pk)
    with pytest.raises(NotFound):
        variant_services.variant_create(
            product_id=product.pk, sku="N", price=Decimal(1), stock=1, options={}
        )
    with pytest.raises(NotFound):
        variant_services.variant_update(product_id=10**9, variant_id=1, stock=1)


def test_a_variant_of_another_product_is_not_found() -> None:
    product = make_tee()
    other = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=1)
    with pytest.raises(NotFound, match="No variant with id"):
        variant_services.variant_update(
            product_id=product.pk,
            variant_id=ProductVariant.objects.get(product=other).pk,
            stock=1,
        )


# variant_update --------------------------------------------------------------------------------


def test_variant_update_changes_the_given_fields() -> None:
    product = make_tee()
    variant = _live(product)["TEE-M-R"]
    variant_services.variant_update(
        product_id=product.pk,
        variant_id=variant.pk,
        price=Decimal("20.00"),
        compare_at_price=Decimal("25.00"),
        options={"Size": "L", "Colour": "Red"},
        position=9,
    )
    variant.refresh_from_db()
    assert (variant.price, variant.compare_at_price, variant.position) == (
        Decimal("20.00"),
        Decimal("25.00"),
        9,
    )
    assert variant.options == {"Size": "L", "Colour": "Red"}
    assert set(VariantOption.objects.filter(variant=variant).values_list("value", flat=True)) == {
        "L",
        "Red",
    }
    variant_services.variant_update(
        product_id=product.pk, variant_id=variant.pk, compare_at_price=None
    )
    variant.refresh_from_db()
    assert variant.compare_at_price is None
    assert summary_drift() == []


@pytest.mark.parametrize(
    ("changes_", "error", "message"),
    [
        ({"sku": "TEE-S-R"}, Conflict, "sku 'TEE-S-R' already exists"),
        ({"options": {"Size": "S", "Colour": "Red"}}, Conflict, "same option values"),
        ({"options": {"Size": "S"}}, ValidationFailed, "needs a value"),
        ({"compare_at_price": Decimal("12.00")}, ValidationFailed, "compare_at_price"),
        ({"price": Decimal("1"), "compare_at_price": Decimal("1.00")}, ValidationFailed, "compare"),
        ({"stock": 1, "stock_delta": 1}, ValidationFailed, "not both"),
        ({"stock_delta": 3, "sku": "TEE-S-R"}, Conflict, "already exists"),  # delta rolled back
    ],
)
def test_variant_update_refuses_bad_input_and_stores_nothing(
    changes_: dict[str, Any], error: type[Exception], message: str
) -> None:
    product = make_tee()
    before = _snapshot()
    with pytest.raises(error, match=message):
        variant_services.variant_update(
            product_id=product.pk, variant_id=_live(product)["TEE-M-R"].pk, **changes_
        )
    assert _snapshot() == before


def test_stock_delta_adds_and_takes_away() -> None:
    product = make_tee()
    variant = _live(product)["TEE-M-R"]  # stock 0
    variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, stock_delta=7)
    variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, stock_delta=-2)
    variant.refresh_from_db()
    assert variant.stock == 5
    product.refresh_from_db()
    assert product.stock == 12
    assert summary_drift() == []


def test_stock_delta_below_zero_is_a_409_and_nothing_changes() -> None:
    product = make_tee()
    variant = _live(product)["TEE-L-B"]  # stock 2
    before = _snapshot()
    with pytest.raises(Conflict, match=r"\(2\) below 0; nothing changed") as info:
        variant_services.variant_update(
            product_id=product.pk, variant_id=variant.pk, stock_delta=-3, price=Decimal(1)
        )
    assert info.value.extra == {"field": "stock_delta"}
    assert _snapshot() == before
    variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, stock_delta=-2)
    variant.refresh_from_db()
    assert variant.stock == 0


def test_stock_delta_past_the_column_limit_is_a_409() -> None:
    product = make_tee()
    variant = _live(product)["TEE-L-B"]  # stock 2
    before = _snapshot()
    with pytest.raises(Conflict, match="above 2147483647"):
        variant_services.variant_update(
            product_id=product.pk, variant_id=variant.pk, stock_delta=MAX_STOCK - 1
        )
    assert _snapshot() == before


def test_stock_delta_ignores_if_match_but_a_stale_if_match_still_fails() -> None:
    product = make_tee()
    variant = _live(product)["TEE-L-B"]
    with pytest.raises(PreconditionFailed):
        variant_services.variant_update(
            product_id=product.pk, variant_id=variant.pk, stock_delta=1, if_match=["stale"]
        )
    variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, stock_delta=1)


def test_if_match_compares_the_products_version() -> None:
    product = Product.objects.select_related("category").get(pk=make_tee().pk)
    attach_detail([product], staff=True)
    tag = versions.product_version(product)  # If-Match tags as the router parses them
    variant = _live(product)["TEE-L-B"]
    variant_services.variant_update(
        product_id=product.pk, variant_id=variant.pk, stock=9, if_match=[tag]
    )
    with pytest.raises(PreconditionFailed):  # the same tag is stale now
        variant_services.variant_update(
            product_id=product.pk, variant_id=variant.pk, stock=8, if_match=[tag]
        )


@pytest.mark.parametrize(
    ("change", "membership"),
    [
        ({"stock_delta": 1}, False),  # 2 -> 3: the product's own entries only
        ({"stock_delta": -2}, True),  # 2 -> 0 crosses zero (the product stays in stock though)
        ({"price": Decimal("15.00")}, False),  # same price: nothing moves
        ({"price": Decimal("30.00")}, True),  # the product's price_max moves
        ({"is_active": False}, True),
    ],
)
def test_variant_update_tells_invalidation_whether_membership_changed(
    changes: list[invalidation.Change],
    django_capture_on_commit_callbacks: Any,
    change: dict[str, Any],
    membership: bool,
) -> None:
    product = make_tee()
    variant = _live(product)["TEE-L-B"]
    with django_capture_on_commit_callbacks(execute=True):
        variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, **change)
    assert [c.membership for c in changes if product.pk in c.product_ids] == [membership]


def test_deactivating_every_variant_hides_the_product_but_keeps_a_price() -> None:
    product = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=1)
    variant = ProductVariant.objects.get(product=product)
    variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, is_active=False)
    product.refresh_from_db()
    assert product.active_variant_count == 0
    assert product.stock == 0
    assert product.price == Decimal("5.00")  # never null
    assert summary_drift() == []


# Soft delete and restore ---------------------------------------------------------------------


def test_variant_soft_delete_and_restore() -> None:
    product = make_tee()
    variant = _live(product)["TEE-S-R"]
    variant_services.variant_soft_delete(product_id=product.pk, variant_id=variant.pk)
    assert "TEE-S-R" not in _live(product)
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("12.00"), 2)
    with pytest.raises(NotFound):  # a deleted variant is gone for updates
        variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, stock=1)
    restored = variant_services.variant_restore(product_id=product.pk, variant_id=variant.pk)
    assert restored.deleted_at is None
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("10.00"), 7)
    assert summary_drift() == []
    # Restoring a live variant is a no-op.
    variant_services.variant_restore(product_id=product.pk, variant_id=variant.pk)


def test_the_last_live_variant_cannot_be_deleted() -> None:
    product = services.product_create(name="Mug", sku="MUG", price=Decimal(5), stock=1)
    variant = ProductVariant.objects.get(product=product)
    with pytest.raises(Conflict, match="last variant"):
        variant_services.variant_soft_delete(product_id=product.pk, variant_id=variant.pk)
    assert ProductVariant.objects.filter(product=product).count() == 1


def test_restore_refuses_a_taken_sku_or_combination_or_options_that_no_longer_fit() -> None:
    product = make_tee()
    live = _live(product)
    s_red = live["TEE-S-R"]
    variant_services.variant_soft_delete(product_id=product.pk, variant_id=s_red.pk)
    other = variant_services.variant_create(
        product_id=product.pk,
        sku="TEE-S-R",
        price=Decimal(1),
        stock=1,
        options={"Size": "S", "Colour": "Blue"},
    )
    with pytest.raises(Conflict, match="took sku"):
        variant_services.variant_restore(product_id=product.pk, variant_id=s_red.pk)
    variant_services.variant_update(
        product_id=product.pk,
        variant_id=other.pk,
        sku="OTHER",
        options={"Size": "S", "Colour": "Red"},
    )
    with pytest.raises(Conflict, match="same option values"):
        variant_services.variant_restore(product_id=product.pk, variant_id=s_red.pk)
    variant_services.variant_soft_delete(product_id=product.pk, variant_id=other.pk)
    services.product_update(
        product_id=product.pk,
        options=[SIZES, {"name": "Colour", "values": ["Blue"]}],
        variants=[_spec(live["TEE-L-B"])],
    )
    with pytest.raises(Conflict, match="options changed"):
        variant_services.variant_restore(product_id=product.pk, variant_id=s_red.pk)


def test_product_soft_delete_takes_its_live_variants_and_restore_brings_those_back() -> None:
    product = make_tee()
    earlier = _live(product)["TEE-S-R"]
    variant_services.variant_soft_delete(product_id=product.pk, variant_id=earlier.pk)
    services.product_soft_delete(product_id=product.pk)
    product = Product.all_objects.get(pk=product.pk)
    deleted = ProductVariant.all_objects.filter(product=product, deleted_at=product.deleted_at)
    assert set(deleted.values_list("sku", flat=True)) == {"TEE-M-R", "TEE-L-B"}
    assert not ProductVariant.objects.filter(product=product).exists()
    # Their skus are free meanwhile ...
    mug = services.product_create(name="Mug", sku="TEE-M-R", price=Decimal(1), stock=1)
    with pytest.raises(Conflict, match="took sku 'TEE-M-R'"):
        services.product_restore(product_id=product.pk)
    services.product_soft_delete(product_id=mug.pk)
    services.product_restore(product_id=product.pk)
    # ... and only those deleted with the product come back.
    assert set(_live(product)) == {"TEE-M-R", "TEE-L-B"}
    assert summary_drift() == []


# Concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_stock_deltas_add_up() -> None:
    product = make_tee()
    variant = _live(product)["TEE-L-B"]
    # Enough that the four -1s never reach 0 in any order (from 2, three of them first
    # was a Conflict: a 1-in-14 flake).
    variant_services.variant_update(product_id=product.pk, variant_id=variant.pk, stock=10)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def restock(delta: int) -> None:
        try:
            barrier.wait()
            variant_services.variant_update(
                product_id=product.pk, variant_id=variant.pk, stock_delta=delta
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=restock, args=(d,)) for d in (5, -1) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    variant.refresh_from_db()
    assert variant.stock == 10 + 4 * 5 - 4
    assert summary_drift() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_takes_never_go_below_zero() -> None:
    product = make_tee()
    variant = _live(product)["TEE-L-B"]  # stock 2
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def take() -> None:
        try:
            barrier.wait()
            variant_services.variant_update(
                product_id=product.pk, variant_id=variant.pk, stock_delta=-1
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("409")
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409"] * 4 + ["ok"] * 2
    variant.refresh_from_db()
    assert variant.stock == 0
