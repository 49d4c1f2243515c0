"""``nexus_shop_seed``'s variants: a realistic share, consistent summaries, option rows."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from nexus_shop.models import Event, Product, ProductImage, ProductVariant, VariantOption
from nexus_shop.seeding import pictures
from nexus_shop.services import catalog as services
from nexus_shop.services.summary import option_rows_drift, refresh_summary, summary_drift
from nexus_shop.services.variants import resolve_combination

pytestmark = pytest.mark.django_db(transaction=False)


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("nexus_shop_seed", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def summaries() -> dict[int, tuple[Any, ...]]:
    return {
        row[0]: row[1:]
        for row in Product.all_objects.values_list(
            "pk", "price", "price_max", "stock", "active_variant_count", "option_words"
        )
    }


def test_a_realistic_share_of_products_have_options_and_variants() -> None:
    seed("--products", "1500", "--categories", "30")
    per_product = Counter(ProductVariant.objects.values_list("product_id", flat=True))
    products = list(Product.all_objects.values_list("pk", "sku", "options"))

    multi = [(pk, options) for pk, _, options in products if options]
    share = len(multi) / len(products)
    assert 0.25 <= share <= 0.35  # 30% asked for
    for pk, options in multi:
        assert 1 <= len(options) <= 2
        assert 2 <= per_product[pk] <= 12
        counts = [len(o["values"]) for o in options]
        assert per_product[pk] == counts[0] * (counts[1] if len(counts) > 1 else 1)
    assert max(per_product[pk] for pk, _ in multi) > 6  # two options multiply
    assert {o["name"] for _, options in multi for o in options} >= {"Size", "Colour"}


def test_single_variant_products_have_their_default_variant() -> None:
    seed("--products", "400", "--categories", "20")
    singles = Product.all_objects.filter(options=[])
    assert singles.count() > 200
    for product in singles:
        (variant,) = ProductVariant.objects.filter(product=product)
        assert variant.sku == product.sku
        assert (variant.options, variant.combination) == ({}, "")
        assert (variant.price, variant.stock, variant.is_active) == (
            product.price,
            product.stock,
            True,
        )
        assert variant.created_at == product.created_at


def test_summaries_agree_with_the_variants() -> None:
    """The product columns are the summary service's, so refreshing them changes nothing."""
    seed("--products", "800", "--categories", "20")

    assert summary_drift() == []
    before = summaries()
    refresh_summary(product_ids=list(before))
    assert summaries() == before
    # Multi-variant products really have a range, and some stock and activity mix.
    assert Product.all_objects.exclude(options=[]).filter(price_max__gt=F("price")).exists()
    assert ProductVariant.objects.filter(is_active=False).exists()
    assert ProductVariant.objects.exclude(compare_at_price=None).exists()


def test_option_rows_and_combinations_follow_the_services_rules() -> None:
    seed("--products", "600", "--categories", "20")
    # The seed writes the rows the services would: live, active variants' values, keyed,
    # with their variant's product, price and stock.
    assert option_rows_drift() == []
    assert VariantOption.objects.exists()
    products = {p.pk: p for p in Product.all_objects.all()}
    seen_skus: set[str] = set()
    for variant in ProductVariant.objects.all():
        product = products[variant.product_id]
        display, combination = resolve_combination(product.options, variant.options)
        assert (display, combination) == (variant.options, variant.combination)
        assert variant.sku not in seen_skus
        seen_skus.add(variant.sku)
        if variant.options:
            assert variant.sku.startswith(f"{product.sku}-")


def test_option_words_are_the_live_variants_values() -> None:
    seed("--products", "300", "--categories", "10")
    product = Product.all_objects.exclude(options=[]).first()
    assert product is not None
    values = {v for o in product.options for v in o["values"]}
    assert set(product.option_words.split(" ")) <= values | {
        w for v in values for w in v.split(" ")
    }
    for value in values:
        assert value in product.option_words


@pytest.mark.parametrize(("share", "multi"), [("0", 0), ("1", 200)])
def test_the_share_can_be_chosen(share: str, multi: int) -> None:
    seed("--products", "200", "--categories", "10", "--multi-variant-share", share)
    assert Product.all_objects.exclude(options=[]).count() == multi
    assert summary_drift() == []


def test_the_share_leaves_the_products_own_rows_alone() -> None:
    """Variants draw from their own stream: names, skus and flags do not move with them."""
    fields = ("name", "slug", "sku", "description", "is_active", "created_at")
    seed("--products", "150", "--categories", "10", "--multi-variant-share", "0")
    alone = sorted(Product.all_objects.values_list(*fields[:-1]))
    seed("--products", "150", "--categories", "10", "--multi-variant-share", "1", "--clear")
    assert sorted(Product.all_objects.values_list(*fields[:-1])) == alone


def test_services_write_after_a_seed(anon: Client) -> None:
    """Ids came from the tables' own sequences: later writes do not collide with them."""
    seed("--products", "120", "--categories", "10")
    product = services.product_create(
        name="After the seed", sku="AFTER-1", price=Decimal("5.00"), stock=3
    )
    assert ProductVariant.objects.filter(product=product, sku="AFTER-1").count() == 1

    multi = Product.objects.filter(is_active=True).exclude(options=[]).first()
    assert multi is not None
    body = anon.get(f"/api/products/{multi.pk}").json()
    assert (
        len(body["variants"])
        == ProductVariant.objects.filter(product=multi).filter(deleted_at=None).count()
    )
    assert body["price_range"] == {"min": str(multi.price), "max": str(multi.price_max)}


def test_pictures_are_drawn_offline_and_reproducibly() -> None:
    from PIL import Image

    first = pictures.draw_picture("Aurora Wireless Headphones", colour="Red", size=200)
    assert first == pictures.draw_picture("Aurora Wireless Headphones", colour="Red", size=200)
    assert first != pictures.draw_picture("Aurora Wireless Headphones", colour="Blue", size=200)
    image = Image.open(io.BytesIO(first))
    assert (image.format, image.size) == ("PNG", (200, 200))
    # The colour option's value is the shape's colour.
    assert image.getpixel((100, 80)) == pictures.FILLS["red"]


def test_no_image_service_no_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pictures, "image_service", lambda: None)
    out = seed("--products", "20", "--categories", "5", "--images", "5")
    assert "Added 0 pictures" in out
    assert not ProductImage.objects.exists()


def test_the_demo_seed_attaches_pictures(settings: Any, tmp_path: Any) -> None:
    if pictures.image_service() is None:
        pytest.skip("no image service (nexus_shop.services.images) in this build yet")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    seed("--products", "30", "--categories", "5", "--images", "6", "--multi-variant-share", "0.5")

    with_pictures = Product.objects.filter(pk__in=ProductImage.objects.values("product_id"))
    assert with_pictures.count() == 6
    assert all(p.thumbnail_file for p in with_pictures)
    for image in ProductImage.objects.select_related("product"):
        colours: list[str] = next(
            (o["values"] for o in image.product.options if o["name"] == "Colour"), []
        )
        if colours:
            assert image.variant_ids
    first = Product.objects.order_by("pk").first()
    assert first is not None
    assert first.images.exists()
    # Through the image service, which emits product.updated, but with events suppressed.
    assert not Event.objects.exists()


def test_pictures_go_through_the_image_service_one_per_colour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seam: what the seed hands ``services.images.image_add`` (recorded here)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(pictures, "image_service", lambda: lambda **kw: calls.append(kw))
    out = seed("--products", "60", "--categories", "5", "--images", "40")

    first_40 = list(Product.objects.order_by("pk")[:40])
    assert {c["product_id"] for c in calls} == {p.pk for p in first_40}
    assert f"Added {len(calls)} pictures" in out
    for product in first_40:
        mine = [c for c in calls if c["product_id"] == product.pk]
        colours = next((o["values"] for o in product.options if o["name"] == "Colour"), None)
        assert len(mine) == (len(colours) if colours else 1)
        for call in mine:
            assert call["data"].startswith(b"\x89PNG")
            assert product.name in call["alt"]
        if colours:
            shown = sorted(i for call in mine for i in call["variant_ids"])
            assert shown == sorted(product.variants.values_list("pk", flat=True))
    assert any("variant_ids" in c for c in calls)  # some product had colours
