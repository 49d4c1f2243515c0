"""The Django admin for categories and products, driven through the admin client."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from nexus_shop import admin as shop_admin
from nexus_shop import invalidation
from nexus_shop.exceptions import Conflict
from nexus_shop.models import (
    Category,
    Event,
    Order,
    Product,
    ProductImage,
    ProductVariant,
    VariantOption,
)
from nexus_shop.services import catalog as services
from nexus_shop.services import images as image_services
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.checkout import checkout
from nexus_shop.services.event_payloads import category_data, product_data
from nexus_shop.services.summary import summary_drift
from tests.factories import CategoryFactory, ProductFactory, UserFactory
from tests.support import images as pictures
from tests.support.outbox import Outbox

CATEGORIES = "/admin/nexus_shop/category/"
PRODUCTS = "/admin/nexus_shop/product/"


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def product_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Aurora Wireless Headphones",
        "slug": "aurora-wireless-headphones",
        "sku": "ELE-1",
        "description": "Wireless headphones.",
        "price": "129.99",
        "stock": "7",
        "is_active": "on",
        "category": "",
        "_save": "Save",
        **inline_management(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def inline_management(variants: int = 0, initial: int = 0) -> dict[str, Any]:
    """The management forms of the product page's inlines (variants, images)."""
    return {
        "variants-TOTAL_FORMS": str(variants),
        "variants-INITIAL_FORMS": str(initial),
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }


def soft_deleted(**kwargs: Any) -> Product:
    product = ProductFactory(**kwargs)
    services.product_soft_delete(product_id=product.pk)
    product.refresh_from_db()
    return product


# Changelists and search ------------------------------------------------------------------------


def test_changelists_load(admin_client: Client) -> None:
    root = CategoryFactory(name="Electronics")
    child = CategoryFactory(name="Audio", parent=root)
    ProductFactory(name="Live speaker", category=child)
    soft_deleted(name="Gone speaker", category=child)

    categories = admin_client.get(CATEGORIES)
    products = admin_client.get(PRODUCTS)

    assert categories.status_code == 200
    assert b"Electronics" in categories.content
    assert b"Audio" in categories.content
    assert products.status_code == 200
    # Soft-deleted rows are listed too.
    assert b"Live speaker" in products.content
    assert b"Gone speaker" in products.content


def test_category_changelist_counts_live_products(admin_client: Client) -> None:
    category = CategoryFactory(name="Audio")
    ProductFactory.create_batch(3, category=category)
    soft_deleted(category=category)

    response = admin_client.get(CATEGORIES)

    row = next(r for r in response.context["cl"].result_list if r.pk == category.pk)
    assert shop_admin.CategoryAdmin.live_products_here(None, row) == 3  # type: ignore[arg-type]  # self unused
    assert b'class="field-live_products_here">3<' in response.content


def test_product_search(admin_client: Client) -> None:
    ProductFactory(name="Wireless Headphones", sku="ELE-0001")
    ProductFactory(name="Cast Iron Pan", sku="HOM-0002")

    by_name = admin_client.get(PRODUCTS, {"q": "headphones"})
    by_sku = admin_client.get(PRODUCTS, {"q": "HOM-0002"})

    assert [p.name for p in by_name.context["cl"].result_list] == ["Wireless Headphones"]
    assert [p.name for p in by_sku.context["cl"].result_list] == ["Cast Iron Pan"]


def test_category_search(admin_client: Client) -> None:
    CategoryFactory(name="Audio", slug="audio")
    CategoryFactory(name="Cookware", slug="cookware")

    response = admin_client.get(CATEGORIES, {"q": "cook"})

    assert [c.name for c in response.context["cl"].result_list] == ["Cookware"]


def test_deleted_filter(admin_client: Client) -> None:
    ProductFactory(name="Still here")
    soft_deleted(name="Deleted one")

    deleted = admin_client.get(PRODUCTS, {"deleted": "yes"})
    live = admin_client.get(PRODUCTS, {"deleted": "no"})

    assert [p.name for p in deleted.context["cl"].result_list] == ["Deleted one"]
    assert [p.name for p in live.context["cl"].result_list] == ["Still here"]
    assert b"field-deleted" in deleted.content


# Soft delete and restore ----------------------------------------------------------------------


def test_there_is_one_delete_action_and_it_soft_deletes(admin_client: Client) -> None:
    product = ProductFactory()

    page = admin_client.get(PRODUCTS)
    response = admin_client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [product.pk], "post": "yes"}
    )

    actions = {value for value, _label in page.context["action_form"].fields["action"].choices}
    assert actions == {"", "delete_selected", "restore_selected"}
    assert response.status_code == 302
    product = Product.all_objects.get(pk=product.pk)
    assert product.deleted_at is not None
    assert not Product.objects.filter(pk=product.pk).exists()


def test_restore_action(admin_client: Client) -> None:
    product = soft_deleted()

    response = admin_client.post(
        PRODUCTS, {"action": "restore_selected", "_selected_action": [product.pk]}
    )

    assert response.status_code == 302
    assert Product.objects.get(pk=product.pk).deleted_at is None
    assert "Restored 1 product(s)." in messages_of(response)


def test_restore_conflict_is_a_message_not_a_500(admin_client: Client) -> None:
    old = soft_deleted(sku="SKU-TAKEN", slug="old-slug")
    ProductFactory(sku="SKU-TAKEN", slug="new-slug")

    response = admin_client.post(
        PRODUCTS,
        {"action": "restore_selected", "_selected_action": [old.pk]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("Could not restore" in m and "SKU-TAKEN" in m for m in shown)
    assert Product.all_objects.get(pk=old.pk).deleted_at is not None


def test_admin_delete_view_soft_deletes(admin_client: Client) -> None:
    product = ProductFactory()

    page = admin_client.get(f"{PRODUCTS}{product.pk}/delete/")
    response = admin_client.post(f"{PRODUCTS}{product.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert response.status_code == 302
    product = Product.all_objects.get(pk=product.pk)
    assert product.deleted_at is not None


def test_delete_selected_soft_deletes(admin_client: Client) -> None:
    products = ProductFactory.create_batch(2)

    response = admin_client.post(
        PRODUCTS,
        {
            "action": "delete_selected",
            "_selected_action": [p.pk for p in products],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert Product.all_objects.filter(pk__in=[p.pk for p in products]).count() == 2
    assert not Product.objects.filter(pk__in=[p.pk for p in products]).exists()


def test_deleted_product_is_read_only(admin_client: Client) -> None:
    product = soft_deleted(name="Old name")

    page = admin_client.get(f"{PRODUCTS}{product.pk}/change/")
    post = admin_client.post(f"{PRODUCTS}{product.pk}/change/", product_form(name="New"))
    delete = admin_client.post(f"{PRODUCTS}{product.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert post.status_code == 403
    assert delete.status_code == 403
    assert Product.all_objects.get(pk=product.pk).name == "Old name"


# Product create and change -------------------------------------------------------------------


@override_settings(NEXUS_SHOP_CURRENCY="EUR")
def test_add_product_goes_through_the_service(admin_client: Client) -> None:
    category = CategoryFactory()

    response = admin_client.post(f"{PRODUCTS}add/", product_form(category=category.pk))

    assert response.status_code == 302
    product = Product.objects.get(sku="ELE-1")
    assert product.currency == "EUR"
    assert product.price == Decimal("129.99")
    assert product.category == category


def test_change_product(admin_client: Client) -> None:
    product = ProductFactory(name="Old", slug="old", sku="OLD-1")

    response = admin_client.post(
        f"{PRODUCTS}{product.pk}/change/",
        product_form(name="New", slug="old", sku="OLD-1", price="5.00"),
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.price) == ("New", Decimal("5.00"))


def test_duplicate_sku_is_a_form_error(admin_client: Client) -> None:
    ProductFactory(sku="ELE-1", slug="first")

    response = admin_client.post(f"{PRODUCTS}add/", product_form())

    assert response.status_code == 200
    assert "sku" in response.context["adminform"].form.errors
    assert Product.all_objects.count() == 1


def test_sku_of_a_deleted_product_can_be_reused(admin_client: Client) -> None:
    soft_deleted(sku="ELE-1", slug="aurora-wireless-headphones")

    response = admin_client.post(f"{PRODUCTS}add/", product_form())

    assert response.status_code == 302
    assert Product.objects.filter(sku="ELE-1").count() == 1
    assert Product.all_objects.filter(sku="ELE-1").count() == 2


def test_a_service_refusal_without_a_field_is_a_form_error_not_a_500(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the service refuses is shown on the form, whatever the rule."""

    def lost_race(**kwargs: Any) -> Product:
        raise Conflict("A product with this slug or sku already exists.")

    monkeypatch.setattr(services, "product_create", lost_race)

    response = admin_client.post(f"{PRODUCTS}add/", product_form())

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors() == ["A product with this slug or sku already exists."]
    assert not Product.all_objects.exists()


def test_the_service_message_is_the_form_error(admin_client: Client) -> None:
    ProductFactory(sku="ELE-1", slug="first")

    response = admin_client.post(f"{PRODUCTS}add/", product_form(slug="first", sku="ELE-2"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"] == [
        "A product with slug 'first' already exists."
    ]
    assert Product.all_objects.count() == 1


# Category create, change and delete -----------------------------------------------------------


def test_add_category_sets_its_path(admin_client: Client) -> None:
    parent = CategoryFactory()

    response = admin_client.post(
        f"{CATEGORIES}add/",
        {"name": "Audio", "slug": "audio", "description": "", "parent": parent.pk},
    )

    assert response.status_code == 302
    category = Category.objects.get(slug="audio")
    assert category.path == f"{parent.path}{category.pk}/"


def test_add_root_category_sets_its_path(admin_client: Client) -> None:
    response = admin_client.post(
        f"{CATEGORIES}add/", {"name": "Books", "slug": "books", "description": "", "parent": ""}
    )

    assert response.status_code == 302
    category = Category.objects.get(slug="books")
    assert category.path == f"/{category.pk}/"


def test_moving_a_category_moves_its_subtree(admin_client: Client) -> None:
    old_parent, new_parent = CategoryFactory(), CategoryFactory()
    moved = CategoryFactory(parent=old_parent)
    grandchild = CategoryFactory(parent=moved)

    response = admin_client.post(
        f"{CATEGORIES}{moved.pk}/change/",
        {"name": moved.name, "slug": moved.slug, "description": "", "parent": new_parent.pk},
    )

    assert response.status_code == 302
    moved.refresh_from_db()
    grandchild.refresh_from_db()
    assert moved.path == f"{new_parent.path}{moved.pk}/"
    assert grandchild.path == f"{moved.path}{grandchild.pk}/"


def test_category_under_its_own_descendant_is_a_form_error(admin_client: Client) -> None:
    top = CategoryFactory()
    below = CategoryFactory(parent=top)

    response = admin_client.post(
        f"{CATEGORIES}{top.pk}/change/",
        {"name": top.name, "slug": top.slug, "description": "", "parent": below.pk},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"] == [
        "A category cannot be its own ancestor."
    ]
    top.refresh_from_db()
    assert top.parent_id is None


def test_duplicate_category_slug_is_a_form_error(admin_client: Client) -> None:
    CategoryFactory(slug="audio")

    response = admin_client.post(
        f"{CATEGORIES}add/", {"name": "Audio", "slug": "audio", "description": "", "parent": ""}
    )

    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Category.objects.count() == 1


def test_delete_empty_category(admin_client: Client) -> None:
    category = CategoryFactory()

    response = admin_client.post(f"{CATEGORIES}{category.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Category.objects.filter(pk=category.pk).exists()
    assert Category.all_objects.get(pk=category.pk).deleted_at is not None  # soft-deleted


def test_category_with_products_is_protected(admin_client: Client) -> None:
    category = CategoryFactory()
    soft_deleted(category=category)  # a deleted product still holds it: it may be restored

    response = admin_client.post(f"{CATEGORIES}{category.pk}/delete/", {"post": "yes"})

    assert response.status_code == 200
    assert Category.objects.filter(pk=category.pk).exists()


def test_delete_selected_categories(admin_client: Client) -> None:
    first, second = CategoryFactory(), CategoryFactory()

    response = admin_client.post(
        CATEGORIES,
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Category.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert Category.all_objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_delete_selected_categories_reports_refusals(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category the service refuses (it gained a product meanwhile) is reported, not a 500."""
    kept, gone = CategoryFactory(name="Kept"), CategoryFactory(name="Gone")
    real_delete = services.category_delete

    def delete(*, category_id: int) -> None:
        if category_id == kept.pk:
            raise Conflict("This category still has products.")
        real_delete(category_id=category_id)

    monkeypatch.setattr(services, "category_delete", delete)

    response = admin_client.post(
        CATEGORIES,
        {"action": "delete_selected", "_selected_action": [kept.pk, gone.pk], "post": "yes"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Kept: This category still has products." in [
        str(m) for m in response.context["messages"]
    ]
    assert list(Category.objects.values_list("name", flat=True)) == ["Kept"]


def test_category_with_children_is_protected(admin_client: Client) -> None:
    parent = CategoryFactory()
    CategoryFactory(parent=parent)

    response = admin_client.post(
        CATEGORIES, {"action": "delete_selected", "_selected_action": [parent.pk], "post": "yes"}
    )

    assert response.status_code == 200
    assert Category.objects.filter(pk=parent.pk).exists()


def test_a_category_whose_children_are_all_deleted_can_be_deleted(admin_client: Client) -> None:
    parent = CategoryFactory(name="Parent")
    child = CategoryFactory(name="Child", parent=parent)
    services.category_delete(category_id=child.pk)

    page = admin_client.get(f"{CATEGORIES}{parent.pk}/delete/")
    response = admin_client.post(f"{CATEGORIES}{parent.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert page.context["protected"] == []
    assert page.context["deleted_objects"] == ["Category: Parent"]
    assert response.status_code == 302
    assert Category.all_objects.get(pk=parent.pk).deleted_at is not None


def test_the_delete_page_names_what_holds_a_category(admin_client: Client) -> None:
    parent = CategoryFactory(name="Parent")
    CategoryFactory(name="Child", parent=parent)
    ProductFactory(name="Lamp", sku="LAMP", category=parent)
    soft_deleted(name="Old lamp", sku="OLD", category=parent)

    page = admin_client.get(f"{CATEGORIES}{parent.pk}/delete/")

    assert page.context["protected"] == [
        "Category: Child",
        "Product: Lamp (LAMP)",
        "Product: Old lamp (OLD)",
    ]


def test_the_delete_page_counts_products_past_the_first_ones(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shop_admin, "_PROTECTED_SHOWN", 2)
    category = CategoryFactory()
    ProductFactory.create_batch(5, category=category)

    page = admin_client.get(f"{CATEGORIES}{category.pk}/delete/")

    assert len(page.context["protected"]) == 3
    assert page.context["protected"][-1] == "... and 3 more products"


def test_deleted_categories_are_listed_read_only_and_restored_by_an_action(
    admin_client: Client,
) -> None:
    live = CategoryFactory(name="Live")
    gone = CategoryFactory(name="Gone")
    services.category_delete(category_id=gone.pk)

    listed = admin_client.get(CATEGORIES)
    deleted = admin_client.get(CATEGORIES, {"deleted": "yes"})
    change = admin_client.get(f"{CATEGORIES}{gone.pk}/change/")
    refused = admin_client.post(
        f"{CATEGORIES}{gone.pk}/change/",
        {"name": "Renamed", "slug": gone.slug, "description": "", "parent": ""},
    )
    actions = {value for value, _label in listed.context["action_form"].fields["action"].choices}
    response = admin_client.post(
        CATEGORIES, {"action": "restore_selected", "_selected_action": [gone.pk, live.pk]}
    )

    assert {c.name for c in listed.context["cl"].result_list} == {"Live", "Gone"}
    assert [c.name for c in deleted.context["cl"].result_list] == ["Gone"]
    assert actions == {"", "delete_selected", "restore_selected"}
    assert change.status_code == 200
    assert not change.context["has_change_permission"]
    assert refused.status_code == 403
    assert response.status_code == 302
    assert "Restored 1 category(ies)." in messages_of(response)
    assert Category.objects.get(pk=gone.pk).name == "Gone"


def test_restoring_a_parent_and_its_child_together_restores_the_parent_first(
    admin_client: Client,
) -> None:
    parent = CategoryFactory(name="Parent")
    child = CategoryFactory(name="Child", parent=parent)
    services.category_delete(category_id=child.pk)
    services.category_delete(category_id=parent.pk)

    response = admin_client.post(
        CATEGORIES, {"action": "restore_selected", "_selected_action": [child.pk, parent.pk]}
    )

    assert "Restored 2 category(ies)." in messages_of(response)
    assert Category.objects.filter(pk__in=[parent.pk, child.pk]).count() == 2


def test_a_refused_category_restore_is_a_message_not_a_500(admin_client: Client) -> None:
    old = CategoryFactory(name="Old", slug="taken")
    services.category_delete(category_id=old.pk)
    CategoryFactory(name="New", slug="taken")

    response = admin_client.post(
        CATEGORIES, {"action": "restore_selected", "_selected_action": [old.pk]}, follow=True
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("Could not restore Old" in m and "'taken'" in m for m in shown)
    assert Category.all_objects.get(pk=old.pk).deleted_at is not None


@pytest.mark.django_db
def test_restoring_categories_needs_the_delete_permission() -> None:
    gone = CategoryFactory()
    services.category_delete(category_id=gone.pk)
    client = Client()
    client.force_login(
        UserFactory(is_staff=True, perms=["view_category", "change_category", "add_category"])
    )

    page = client.get(CATEGORIES)
    client.post(CATEGORIES, {"action": "restore_selected", "_selected_action": [gone.pk]})

    assert page.context["action_form"] is None  # no action: delete and restore need it
    assert Category.all_objects.get(pk=gone.pk).deleted_at is not None


def test_autocomplete_offers_live_categories_only(admin_client: Client) -> None:
    CategoryFactory(name="Lamps live")
    gone = CategoryFactory(name="Lamps gone")
    services.category_delete(category_id=gone.pk)

    for model, field in (("category", "parent"), ("product", "category")):
        response = admin_client.get(
            "/admin/autocomplete/",
            {"term": "lamps", "app_label": "nexus_shop", "model_name": model, "field_name": field},
        )
        assert response.status_code == 200
        assert [r["text"] for r in response.json()["results"]] == ["Lamps live"]


def test_timestamps_are_read_only(admin_client: Client) -> None:
    product = ProductFactory()
    before = Product.objects.get(pk=product.pk).created_at

    admin_client.post(
        f"{PRODUCTS}{product.pk}/change/",
        product_form(
            slug=product.slug,
            sku=product.sku,
            created_at=timezone.now().isoformat(),
            deleted_at=timezone.now().isoformat(),
        ),
    )

    product = Product.objects.get(pk=product.pk)
    assert product.created_at == before
    assert product.deleted_at is None


# Options, variants and images inline -------------------------------------------------------------

TEE_OPTIONS = '[{"name": "Size", "values": ["S", "M"]}]'


def variant_rows(*rows: dict[str, Any], initial: int = 0) -> dict[str, Any]:
    """The variant inline's POST data for ``rows`` (existing ones first, with their ``id``)."""
    data = inline_management(variants=len(rows), initial=initial)
    for n, row in enumerate(rows):
        values = {"is_active": "on", "position": "0", "compare_at_price": "", **row}
        for key, value in values.items():
            # "initial-options": the hidden initial value a browser sends back for a field
            # with a callable default (the admin compares it to tell a changed row).
            name = (
                f"initial-variants-{n}-{key[8:]}"
                if key.startswith("initial-")
                else f"variants-{n}-{key}"
            )
            data[name] = value
    return data


def tee_form(**overrides: Any) -> dict[str, Any]:
    return product_form(
        name="Tee",
        slug="tee",
        sku="TEE",
        options=TEE_OPTIONS,
        price="",
        stock="",
        **variant_rows(
            {"sku": "TEE-S", "options": '{"Size": "S"}', "price": "10.00", "stock": "2"},
            {"sku": "TEE-M", "options": '{"size": "m"}', "price": "12.00", "stock": "0"},
        ),
        **overrides,
    )


def test_add_a_product_with_options_and_variants_goes_through_the_services(
    admin_client: Client,
) -> None:
    response = admin_client.post(f"{PRODUCTS}add/", tee_form())
    assert response.status_code == 302, response.context["errors"]
    product = Product.objects.get(sku="TEE")
    assert product.options == [{"name": "Size", "values": ["S", "M"]}]
    variants = {v.sku: v for v in ProductVariant.objects.filter(product=product)}
    assert variants["TEE-M"].options == {"Size": "M"}  # matched ignoring case, as the API does
    assert (product.price, product.price_max, product.stock) == (
        Decimal("10.00"),
        Decimal("12.00"),
        2,
    )
    assert VariantOption.objects.filter(product=product).count() == 2
    assert summary_drift() == []


def test_the_change_page_shows_variants_and_images_inline(admin_client: Client) -> None:
    admin_client.post(f"{PRODUCTS}add/", tee_form())
    product = Product.objects.get(sku="TEE")
    ProductImage.objects.create(
        product=product, file="a.png", content_hash="a", width=1, height=1, alt="Front view"
    )
    page = admin_client.get(f"{PRODUCTS}{product.pk}/change/").content.decode()
    assert "TEE-M" in page
    assert "Front view" in page


def _change_rows(product: Product, **changes: dict[str, Any]) -> dict[str, Any]:
    """Every live variant of ``product`` as an existing inline row, with ``changes`` by sku."""
    rows = []
    for variant in ProductVariant.objects.filter(product=product).order_by("position", "id"):
        row = {
            "id": str(variant.pk),
            "product": str(product.pk),
            "sku": variant.sku,
            "options": json.dumps(variant.options),
            "initial-options": json.dumps(variant.options),
            "price": str(variant.price),
            "stock": str(variant.stock),
            "position": str(variant.position),
        }
        row.update(changes.get(variant.sku, {}))
        rows.append(row)
    return variant_rows(*rows, initial=len(rows))


def test_changing_and_deleting_variant_rows_goes_through_the_services(
    admin_client: Client,
) -> None:
    admin_client.post(f"{PRODUCTS}add/", tee_form())
    product = Product.objects.get(sku="TEE")
    data = product_form(
        name="Tee", slug="tee", sku="TEE", options=TEE_OPTIONS, price="10.00", stock="2"
    )
    data.update(_change_rows(product, **{"TEE-M": {"stock": "5"}, "TEE-S": {"DELETE": "on"}}))
    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", data)
    assert response.status_code == 302, response.context["errors"]
    (live,) = ProductVariant.objects.filter(product=product)
    assert (live.sku, live.stock) == ("TEE-M", 5)
    assert ProductVariant.all_objects.get(sku="TEE-S").deleted_at is not None  # soft
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("12.00"), 5)
    assert summary_drift() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TEE-M": {"options": '{"Size": "S"}'}}, "same option values"),
        ({"TEE-M": {"options": '{"Size": "XL"}'}}, "not a value of option"),
        ({"TEE-M": {"sku": "TEE-S"}}, "sku"),
        ({"TEE-M": {"compare_at_price": "1.00"}}, "compare"),
        ({"TEE-M": {"DELETE": "on"}, "TEE-S": {"DELETE": "on"}}, "at least one variant"),
    ],
)
def test_a_refused_variant_row_is_a_form_error_and_nothing_is_saved(
    admin_client: Client, change: dict[str, dict[str, Any]], message: str
) -> None:
    admin_client.post(f"{PRODUCTS}add/", tee_form())
    product = Product.objects.get(sku="TEE")
    before = list(ProductVariant.all_objects.order_by("pk").values())
    data = product_form(
        name="Renamed", slug="tee", sku="TEE", options=TEE_OPTIONS, price="10.00", stock="2"
    )
    data.update(_change_rows(product, **change))
    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", data)
    assert response.status_code == 200  # the page again, with the error: never a 500
    assert message in response.content.decode()
    assert list(ProductVariant.all_objects.order_by("pk").values()) == before
    assert Product.objects.get(pk=product.pk).name == "Tee"


def test_a_price_on_a_multi_variant_product_is_a_form_error(admin_client: Client) -> None:
    admin_client.post(f"{PRODUCTS}add/", tee_form())
    product = Product.objects.get(sku="TEE")
    data = product_form(name="Tee", slug="tee", sku="TEE", options=TEE_OPTIONS, price="99.00")
    data.update(_change_rows(product))
    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", data)
    assert response.status_code == 200
    assert "/variants/" in response.content.decode()
    assert ProductVariant.objects.filter(product=product, price=Decimal("99.00")).count() == 0


@pytest.mark.parametrize(
    "options",
    [
        '[{"name": "Size", "values": ["S", "s"]}]',
        '[{"name": "Size", "values": ["S"]}, {"name": "size", "values": ["M"]}]',
        '[{"name": "Size", "values": []}]',
    ],
)
def test_options_break_the_apis_rules_is_a_form_error(admin_client: Client, options: str) -> None:
    response = admin_client.post(f"{PRODUCTS}add/", product_form(options=options))
    assert response.status_code == 200
    assert "options" in response.context["adminform"].form.errors
    assert not Product.all_objects.exists()


# Images inline ----------------------------------------------------------------------------------

SIZES = {"thumb": 16, "card": 32}


@pytest.fixture
def image_sizes(settings: Any, media: Path) -> Path:
    settings.NEXUS_SHOP_IMAGE_SIZES = SIZES
    return media


def stored(media: Path) -> set[str]:
    """Every file under MEDIA_ROOT, as storage names."""
    return {
        str(Path(root, name).relative_to(media))
        for root, _dirs, files in os.walk(media)
        for name in files
    }


def image_rows(product: Product, *new: dict[str, Any], **changes: dict[str, Any]) -> dict[str, Any]:
    """The image inline's POST data: every image of ``product`` (``changes`` by alt), then
    ``new`` rows."""
    existing = list(ProductImage.objects.filter(product=product).order_by("position", "id"))
    data = {
        "images-TOTAL_FORMS": str(len(existing) + len(new)),
        "images-INITIAL_FORMS": str(len(existing)),
    }
    rows: list[dict[str, Any]] = [
        {
            "id": str(image.pk),
            "product": str(product.pk),
            "alt": image.alt,
            "position": str(image.position),
            "variant_ids": [str(pk) for pk in image.variant_ids],
            **changes.get(image.alt, {}),
        }
        for image in existing
    ]
    rows += [{"alt": "", "position": "", **row} for row in new]
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"images-{n}-{key}"] = value
    return data


def upload(data: bytes, name: str = "mug.png", content_type: str = "image/png") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


def change_page(product: Product, **overrides: Any) -> dict[str, Any]:
    """The change form of a single-variant product, as the browser posts it back."""
    variant = product.variants.get()
    values = {
        "name": product.name,
        "slug": product.slug,
        "sku": product.sku,
        "price": str(variant.price),
        "stock": str(variant.stock),
    }
    return product_form(**(values | overrides))


def test_an_upload_through_the_admin_goes_through_the_image_service(
    admin_client: Client, image_sizes: Path
) -> None:
    product = ProductFactory()
    data = change_page(product) | image_rows(
        product, {"upload": upload(pictures.png()), "alt": "Front"}
    )

    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", data)

    assert response.status_code == 302, response.context["errors"]
    image = ProductImage.objects.get(product=product)
    assert (image.alt, image.position, image.width, image.height) == ("Front", 0, 64, 48)
    assert stored(image_sizes) == {image.file, *image.thumbnail_files.values()}
    assert set(image.thumbnail_files) == set(SIZES)
    product.refresh_from_db()
    assert product.thumbnail_file == image.thumbnail_files["thumb"]


def test_a_new_product_can_be_added_with_its_pictures(
    admin_client: Client, image_sizes: Path
) -> None:
    data = product_form() | {
        "images-TOTAL_FORMS": "2",
        "images-0-upload": upload(pictures.png()),
        "images-0-alt": "Front",
        "images-0-position": "",
        "images-1-upload": upload(pictures.jpeg(), "side.jpg", "image/jpeg"),
        "images-1-alt": "Side",
        "images-1-position": "0",
    }

    response = admin_client.post(f"{PRODUCTS}add/", data)

    assert response.status_code == 302, response.context["errors"]
    product = Product.objects.get(sku="ELE-1")
    assert [(i.alt, i.position) for i in product.images.order_by("position")] == [
        ("Side", 0),
        ("Front", 1),
    ]
    assert product.thumbnail_file == product.images.get(alt="Side").thumbnail_files["thumb"]


def test_the_change_page_shows_editable_image_rows_with_a_thumbnail(
    admin_client: Client, image_sizes: Path
) -> None:
    product = ProductFactory()
    image = image_services.image_add(product_id=product.pk, data=pictures.png(), alt="Front")

    page = admin_client.get(f"{PRODUCTS}{product.pk}/change/").content.decode()

    assert 'name="images-0-alt"' in page
    assert 'name="images-0-DELETE"' in page
    assert 'name="images-__prefix__-upload"' in page  # "Add another" offers an upload
    assert 'enctype="multipart/form-data"' in page
    assert f'src="{image.thumbnails["thumb"]}"' in page
    assert f'value="{product.variants.get().pk}"' in page  # a variant to tick


@pytest.mark.parametrize(
    "case",
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/svg+xml", "markup"),
        (pictures.png(200, 200)[:200], "image/png", "truncated"),
        (b"x" * 2049, "image/png", "larger than"),
        (pictures.jpeg(), "image/png", "claims to be image/png"),
    ],
    ids=["svg-415", "truncated-422", "too-large-413", "lying-type-415"],
)
def test_a_refused_picture_is_an_error_on_its_row_and_nothing_is_saved(
    admin_client: Client,
    image_sizes: Path,
    settings: Any,
    case: tuple[bytes, str, str],
) -> None:
    data, content_type, status = case
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = 2048
    product = ProductFactory(name="Old")
    # A good picture on the same page is not kept either: its files are removed again.
    form = change_page(product, name="New") | image_rows(
        product,
        {"upload": upload(pictures.png(16, 12)), "alt": "Good"},
        {"upload": upload(data, "bad.png", content_type), "alt": "Bad"},
    )

    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", form)

    assert response.status_code == 200
    formset = next(
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "images"
    )
    errors = formset.formset.forms[1].errors
    assert status in " ".join(errors["upload"])
    assert not formset.formset.forms[0].errors
    assert response.context["adminform"].form.non_field_errors() == ["Correct the images below."]
    assert not ProductImage.objects.exists()
    assert stored(image_sizes) == set()
    product.refresh_from_db()
    assert (product.name, product.thumbnail_file) == ("Old", "")


def test_a_new_row_without_a_file_is_an_error(admin_client: Client, image_sizes: Path) -> None:
    product = ProductFactory()
    form = change_page(product) | image_rows(product, {"alt": "Forgot the file"})

    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", form)

    assert response.status_code == 200
    assert "Choose an image file" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_deleting_a_row_goes_through_the_service_and_removes_the_files_on_commit(
    admin_client: Client,
    image_sizes: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    product = ProductFactory()
    first = image_services.image_add(product_id=product.pk, data=pictures.png(), alt="First")
    second = image_services.image_add(product_id=product.pk, data=pictures.webp(), alt="Second")
    first_files = {first.file, *first.thumbnail_files.values()}

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{PRODUCTS}{product.pk}/change/",
            change_page(product) | image_rows(product, First={"DELETE": "on"}),
        )

    assert response.status_code == 302, response.context["errors"]
    (left,) = ProductImage.objects.filter(product=product)
    assert (left.pk, left.position) == (second.pk, 0)  # the others close up
    assert not first_files & stored(image_sizes)
    product.refresh_from_db()
    assert product.thumbnail_file == second.thumbnail_files["thumb"]


def test_edits_go_through_the_service(
    admin_client: Client,
    image_sizes: Path,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    product = ProductFactory()
    variant = product.variants.get()
    for alt in ("A", "B", "C"):
        image_services.image_add(product_id=product.pk, data=pictures.png(), alt=alt)
    seen: list[invalidation.Change] = []
    invalidation.connect(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                f"{PRODUCTS}{product.pk}/change/",
                change_page(product)
                | image_rows(
                    product,
                    C={"position": "0", "alt": "C, now first", "variant_ids": [str(variant.pk)]},
                ),
            )
    finally:
        invalidation.disconnect(seen.append)

    assert response.status_code == 302, response.context["errors"]
    rows = list(ProductImage.objects.filter(product=product).order_by("position"))
    # A move, as PATCH does it: the others shift, positions stay 0, 1, 2.
    assert [(i.alt, i.position) for i in rows] == [("C, now first", 0), ("A", 1), ("B", 2)]
    assert rows[0].variant_ids == [variant.pk]
    assert invalidation.Change(product_ids=frozenset({product.pk}), membership=False) in seen
    product.refresh_from_db()
    assert product.thumbnail_file == rows[0].thumbnail_files["thumb"]


def test_a_variant_of_another_product_is_refused_on_its_row(
    admin_client: Client, image_sizes: Path
) -> None:
    product = ProductFactory()
    image = image_services.image_add(product_id=product.pk, data=pictures.png(), alt="A")
    other = ProductFactory().variants.get()
    form = change_page(product) | image_rows(product, A={"variant_ids": [str(other.pk)]})

    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", form)

    assert response.status_code == 200
    assert "variant_ids" in response.context["inline_admin_formsets"][1].formset.forms[0].errors
    image.refresh_from_db()
    assert image.variant_ids == []


# Events: the admin's writes are the services', so they emit the API's events -------------------


def test_adding_a_product_with_pictures_is_one_product_created(
    admin_client: Client, image_sizes: Path, outbox: Outbox
) -> None:
    data = product_form() | {
        "images-TOTAL_FORMS": "2",
        "images-0-upload": upload(pictures.png()),
        "images-0-alt": "Front",
        "images-1-upload": upload(pictures.png(32, 24)),
        "images-1-alt": "Side",
    }

    response = admin_client.post(f"{PRODUCTS}add/", data)

    assert response.status_code == 302, response.context["errors"]
    product = Product.objects.get(sku="ELE-1")
    # Three service calls (the product, then each picture), one event with what committed.
    assert outbox.kinds() == [("product.created", f"product:{product.pk}", 1)]
    assert Event.objects.get().data == product_data(product_id=product.pk)
    assert [i["alt"] for i in Event.objects.get().data["images"]] == ["Front", "Side"]


def test_a_change_page_is_one_product_updated_and_its_crossings(
    admin_client: Client, image_sizes: Path, outbox: Outbox
) -> None:
    admin_client.post(f"{PRODUCTS}add/", tee_form())
    product = Product.objects.get(sku="TEE")
    image_services.image_add(product_id=product.pk, data=pictures.png(), alt="Old")
    outbox.new()
    data = product_form(
        name="Tee, renamed", slug="tee", sku="TEE", options=TEE_OPTIONS, price="", stock=""
    )
    data |= _change_rows(product, **{"TEE-S": {"stock": "0"}, "TEE-M": {"stock": "4"}})
    data |= image_rows(
        product, {"upload": upload(pictures.png(32, 24)), "alt": "New"}, Old={"alt": "Older"}
    )

    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", data)

    assert response.status_code == 302, response.context["errors"]
    resource = f"product:{product.pk}"
    new = outbox.new()
    assert [(e.type, e.resource, e.data.get("sku")) for e in new] == [
        ("inventory.out_of_stock", resource, "TEE-S"),
        ("inventory.back_in_stock", resource, "TEE-M"),
        ("product.updated", resource, "TEE"),
    ]
    assert new[2].data == product_data(product_id=product.pk)
    assert new[2].data["name"] == "Tee, renamed"
    assert [i["alt"] for i in new[2].data["images"]] == ["Older", "New"]


def test_a_refused_page_emits_nothing(
    admin_client: Client, image_sizes: Path, outbox: Outbox
) -> None:
    product = ProductFactory(name="Old")
    form = change_page(product, name="New") | image_rows(
        product,
        {"upload": upload(pictures.png(16, 12)), "alt": "Good"},
        {"upload": upload(b"<svg/>", "bad.svg", "image/svg+xml"), "alt": "Bad"},
    )

    response = admin_client.post(f"{PRODUCTS}{product.pk}/change/", form)

    assert response.status_code == 200
    assert outbox.new() == []


def test_admin_deletes_and_restores_emit_their_events(admin_client: Client, outbox: Outbox) -> None:
    one, two = ProductFactory(), ProductFactory()

    admin_client.post(f"{PRODUCTS}{one.pk}/delete/", {"post": "yes"})
    admin_client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [two.pk], "post": "yes"}
    )
    admin_client.post(PRODUCTS, {"action": "restore_selected", "_selected_action": [one.pk]})

    assert outbox.kinds() == [
        ("product.deleted", f"product:{one.pk}", 1),
        ("product.deleted", f"product:{two.pk}", 1),
        ("product.restored", f"product:{one.pk}", 2),
    ]


def test_admin_category_writes_emit_their_events(admin_client: Client, outbox: Outbox) -> None:
    admin_client.post(
        f"{CATEGORIES}add/", {"name": "Books", "slug": "books", "description": "", "parent": ""}
    )
    category = Category.objects.get(slug="books")
    created = category_data(category_id=category.pk)
    admin_client.post(
        f"{CATEGORIES}{category.pk}/change/",
        {"name": "Novels", "slug": "books", "description": "", "parent": ""},
    )
    changed = category_data(category_id=category.pk)
    admin_client.post(f"{CATEGORIES}{category.pk}/delete/", {"post": "yes"})
    admin_client.post(CATEGORIES, {"action": "restore_selected", "_selected_action": [category.pk]})

    new = outbox.new()
    resource = f"category:{category.pk}"
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("category.created", resource, 1),
        ("category.updated", resource, 2),
        ("category.deleted", resource, 3),
        ("category.restored", resource, 4),
    ]
    assert [e.data for e in new] == [created, changed, changed, changed]


def test_admin_order_actions_emit_their_events(admin_client: Client, outbox: Outbox) -> None:
    buyer = UserFactory()
    for key in ("a", "b"):
        cart_add_item(
            holder=Holder(user=buyer, token=None), product_id=ProductFactory().pk, quantity=1
        )
        checkout(user=buyer, cart_token=None, idempotency_key=key, render=lambda o: {})
    paid, cancelled = Order.objects.order_by("pk")
    outbox.new()

    for action, order in (("mark_paid", paid), ("mark_fulfilled", paid), ("cancel", cancelled)):
        response = admin_client.post(
            "/admin/nexus_shop/order/", {"action": action, "_selected_action": [order.pk]}
        )
        assert response.status_code == 302

    assert outbox.kinds() == [
        ("order.paid", f"order:{paid.pk}", 2),
        ("order.fulfilled", f"order:{paid.pk}", 3),
        ("order.cancelled", f"order:{cancelled.pk}", 2),
    ]
