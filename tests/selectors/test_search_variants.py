"""``q`` finds variant skus (exactly, ranked first) and option values, on every database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from nexus_shop.models import Product, ProductVariant
from nexus_shop.schemas.catalog import ProductFilter
from nexus_shop.selectors.products import product_list
from nexus_shop.services.variants import variant_update
from tests.factories import ProductFactory
from tests.support.catalogue import product_with, tee

pytestmark = pytest.mark.django_db


def found(q: str, **params: Any) -> list[str]:
    filters = ProductFilter.model_validate({"q": q, "page_size": 100, **params})
    return [p.name for p in product_list(filters=filters, viewer=None).items]


def test_an_exact_variant_sku_finds_its_product_first() -> None:
    shirt = tee("Tee", sku="TEE")
    ProductFactory(name="TEE-3 poster", description="Not a shirt.")
    assert found("TEE-3", ordering="relevance")[0] == shirt.name
    assert shirt.name in found("TEE-3")


def test_a_sku_matches_exactly_not_as_a_part() -> None:
    tee("Tee", sku="TEE")
    assert found("TEE-3") == ["Tee"]
    # "EE-3" is no sku, and appears in no name, description or option value.
    assert found("EE-3") == []


def test_an_inactive_or_deleted_variants_sku_finds_nothing() -> None:
    shirt = tee("Tee", sku="TEE")
    variant = ProductVariant.objects.get(sku="TEE-4")
    variant_update(product_id=shirt.pk, variant_id=variant.pk, is_active=False)
    assert found("TEE-4") == []
    ProductVariant.objects.filter(sku="TEE-3").update(deleted_at=timezone.now())
    assert found("TEE-3") == []


def test_option_values_are_searched() -> None:
    product_with("Mug", [({"Colour": "Red"}, "8.00", 5), ({"Colour": "White"}, "8.00", 5)])
    ProductFactory(name="Plate")
    assert found("white") == ["Mug"]


@pytest.mark.postgres
def test_words_of_the_name_and_of_the_option_values_combine_on_postgresql() -> None:
    product_with("Enamel mug", [({"Colour": "Red"}, "8.00", 5)])
    product_with("Enamel mug classic", [({"Colour": "Blue"}, "8.00", 5)], sku="MUG-2")
    ProductFactory(name="Red kettle")
    assert found("red mug") == ["Enamel mug"]
    # A name hit ranks above an option-value hit (weights A and C).
    assert found("red", ordering="relevance") == ["Red kettle", "Enamel mug"]


@pytest.mark.postgres
def test_the_vector_follows_the_option_words_written_by_the_summary() -> None:
    mug = product_with("Mug", [({"Colour": "Red"}, "8.00", 5)])
    variant = ProductVariant.objects.get(product=mug)
    assert found("red") == ["Mug"]
    variant_update(product_id=mug.pk, variant_id=variant.pk, options={"Colour": "Red"})
    Product.objects.filter(pk=mug.pk).update(option_words="Teal")
    assert found("teal") == ["Mug"]
    assert found("red") == []


@pytest.mark.postgres
def test_the_migration_backfills_and_reverts_the_vectors() -> None:
    from importlib import import_module

    migration = import_module("nexus_shop.migrations.0012_search_option_words")
    mug = product_with("Mug", [({"Colour": "Turquoise"}, "8.00", 5)])

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]  # the one attribute read
    migration.backwards(None, editor)
    Product.objects.filter(pk=mug.pk).update(description="")  # rewrites with 0004's vector
    assert found("turquoise") == []
    migration.forwards(None, editor)
    assert found("turquoise") == ["Mug"]
