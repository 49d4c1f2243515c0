"""The Django admin for categories and products, driven through the admin client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.utils import timezone

from nexus_shop import admin as shop_admin
from nexus_shop.exceptions import Conflict
from nexus_shop.models import Category, Product
from nexus_shop.services import catalog as services
from tests.factories import CategoryFactory, ProductFactory, UserFactory

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
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


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
