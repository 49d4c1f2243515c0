from __future__ import annotations

from typing import Any

import pytest
from cachalot.api import cachalot_disabled
from django.test import Client
from django.utils import timezone

from nexus_shop.models import Category
from tests.factories import CategoryFactory, ProductFactory
from tests.support.budget import budget

pytestmark = pytest.mark.django_db

CATEGORY_FIELDS = {"id", "name", "slug", "description", "parent_id", "product_count"}


def _post(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/api/categories", body, content_type="application/json")


def _patch(client: Client, pk: int, body: dict[str, Any]) -> Any:
    return client.patch(f"/api/categories/{pk}", body, content_type="application/json")


def test_staff_build_a_tree(staff_client: Client) -> None:
    root = _post(staff_client, {"name": "Clothing", "description": "All of it"})
    assert root.status_code == 201
    assert set(root.json()) == CATEGORY_FIELDS
    assert root.json()["slug"] == "clothing"
    child = _post(staff_client, {"name": "Shoes", "slug": "shoes", "parent_id": root.json()["id"]})
    assert child.status_code == 201
    assert child.json()["parent_id"] == root.json()["id"]
    assert child.json()["product_count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x", "slug": "has space"},
        {"name": "x", "extra": 1},
        {"name": "x", "id": 5},
        {"name": "x", "product_count": 5},
        {"name": "x", "parent_id": "abc"},
    ],
)
def test_bad_category_bodies_are_422(staff_client: Client, body: dict[str, Any]) -> None:
    assert _post(staff_client, body).status_code == 422
    assert not Category.objects.exists()


def test_unknown_parent_is_422(staff_client: Client) -> None:
    response = _post(staff_client, {"name": "Orphan", "parent_id": 9999})
    assert response.status_code == 422
    assert response.json()["field"] == "parent_id"


def test_duplicate_slug_is_409(staff_client: Client) -> None:
    CategoryFactory(slug="shoes")
    response = _post(staff_client, {"name": "Shoes", "slug": "shoes"})
    assert response.status_code == 409
    assert response.json()["field"] == "slug"
    other = CategoryFactory(slug="other")
    assert _patch(staff_client, other.pk, {"slug": "shoes"}).status_code == 409


def test_list_and_detail_share_a_shape(anon: Client) -> None:
    root = CategoryFactory()
    CategoryFactory(parent=root)
    data = anon.get("/api/categories").json()
    assert set(data) == {"items", "count", "count_exact", "page", "page_size", "next_cursor"}
    assert data["count"] == 2
    assert all(set(item) == CATEGORY_FIELDS for item in data["items"])
    detail = anon.get(f"/api/categories/{root.pk}").json()
    assert detail == data["items"][0]


def test_list_is_in_tree_order_and_pages_with_cursors(anon: Client) -> None:
    a = CategoryFactory()
    b = CategoryFactory()
    a1 = CategoryFactory(parent=a)
    b1 = CategoryFactory(parent=b)
    listed = [i["id"] for i in anon.get("/api/categories").json()["items"]]
    assert listed.index(a.pk) < listed.index(a1.pk)
    assert listed.index(b.pk) < listed.index(b1.pk)
    walked: list[int] = []
    response = anon.get("/api/categories?page_size=1")
    walked += [i["id"] for i in response.json()["items"]]
    while cursor := response.json()["next_cursor"]:
        response = anon.get(f"/api/categories?page_size=1&cursor={cursor}")
        walked += [i["id"] for i in response.json()["items"]]
    assert walked == listed


def test_missing_category_is_404(anon: Client) -> None:
    response = anon.get("/api/categories/31337")
    assert response.status_code == 404
    assert response.json() == {"detail": "No category with id 31337.", "errors": []}


def test_product_count_covers_descendants_and_only_live_active_products(anon: Client) -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    other = CategoryFactory()
    ProductFactory(category=root)
    ProductFactory(category=child)
    ProductFactory.create_batch(2, category=grandchild)
    ProductFactory(category=grandchild, is_active=False)
    ProductFactory(category=grandchild, deleted_at=timezone.now())
    ProductFactory(category=other)
    counts = {i["id"]: i["product_count"] for i in anon.get("/api/categories").json()["items"]}
    assert counts == {root.pk: 4, child.pk: 3, grandchild.pk: 2, other.pk: 1}
    assert anon.get(f"/api/categories/{child.pk}").json()["product_count"] == 3


@pytest.mark.parametrize("page_size", [1, 100])
def test_category_list_is_three_queries_whatever_the_page_size(
    anon: Client, django_assert_num_queries: Any, page_size: int
) -> None:
    # The page, the count (page mode), and one aggregate for every product_count.
    for _ in range(10):
        parent = CategoryFactory()
        ProductFactory.create_batch(2, category=CategoryFactory(parent=parent))
    with cachalot_disabled(), django_assert_num_queries(budget("category-list")):
        items = anon.get(f"/api/categories?page_size={page_size}").json()["items"]
    assert len(items) == min(page_size, 20)
    assert sum(i["product_count"] for i in items if i["parent_id"] is None) == (
        20 if page_size == 100 else items[0]["product_count"]
    )


def test_category_detail_is_two_queries(anon: Client, django_assert_num_queries: Any) -> None:
    category = CategoryFactory()
    ProductFactory(category=CategoryFactory(parent=category))
    with cachalot_disabled(), django_assert_num_queries(budget("category-detail")):
        assert anon.get(f"/api/categories/{category.pk}").json()["product_count"] == 1


def test_patch_renames_and_moves_a_subtree(staff_client: Client, anon: Client) -> None:
    a = CategoryFactory(slug="a")
    b = CategoryFactory(slug="b")
    child = CategoryFactory(parent=a)
    grandchild = CategoryFactory(parent=child)
    product = ProductFactory(category=grandchild)
    response = _patch(staff_client, child.pk, {"parent_id": b.pk, "name": "Moved"})
    assert response.status_code == 200
    assert (response.json()["parent_id"], response.json()["name"]) == (b.pk, "Moved")
    grandchild.refresh_from_db()
    assert grandchild.path == f"/{b.pk}/{child.pk}/{grandchild.pk}/"
    assert [i["id"] for i in anon.get("/api/products?category=b").json()["items"]] == [product.pk]
    assert anon.get("/api/products?category=a").json()["count"] == 0


def test_patch_to_root_with_null_parent(staff_client: Client) -> None:
    child = CategoryFactory(parent=CategoryFactory())
    response = _patch(staff_client, child.pk, {"parent_id": None})
    assert response.status_code == 200
    child.refresh_from_db()
    assert (child.parent_id, child.path) == (None, f"/{child.pk}/")


def test_patch_without_parent_id_keeps_the_parent(staff_client: Client) -> None:
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    assert _patch(staff_client, child.pk, {"description": "d"}).json()["parent_id"] == parent.pk


@pytest.mark.parametrize("target", ["self", "child", "grandchild"])
def test_a_category_cannot_become_its_own_ancestor(staff_client: Client, target: str) -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    new_parent = {"self": root, "child": child, "grandchild": grandchild}[target]
    response = _patch(staff_client, root.pk, {"parent_id": new_parent.pk})
    assert response.status_code == 422
    assert "ancestor" in response.json()["detail"]
    root.refresh_from_db()
    assert (root.parent_id, root.path) == (None, f"/{root.pk}/")


def test_delete_a_leaf(staff_client: Client) -> None:
    leaf = CategoryFactory()
    response = staff_client.delete(f"/api/categories/{leaf.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Category.objects.filter(pk=leaf.pk).exists()
    assert staff_client.delete(f"/api/categories/{leaf.pk}").status_code == 404


def test_delete_is_409_while_it_has_children_or_products(staff_client: Client) -> None:
    parent = CategoryFactory()
    CategoryFactory(parent=parent)
    response = staff_client.delete(f"/api/categories/{parent.pk}")
    assert response.status_code == 409
    assert "child" in response.json()["detail"]

    with_product = CategoryFactory()
    ProductFactory(category=with_product)
    assert staff_client.delete(f"/api/categories/{with_product.pk}").status_code == 409

    with_deleted_product = CategoryFactory()
    ProductFactory(category=with_deleted_product, deleted_at=timezone.now())
    assert staff_client.delete(f"/api/categories/{with_deleted_product.pk}").status_code == 409
    assert Category.objects.count() == 4


# Soft delete and restore ----------------------------------------------------------------------


def test_delete_is_a_soft_delete_hidden_from_every_read(staff_client: Client, anon: Client) -> None:
    parent = CategoryFactory(slug="lighting")
    leaf = CategoryFactory(parent=parent, slug="lamps")
    ProductFactory(category=parent)
    assert staff_client.delete(f"/api/categories/{leaf.pk}").status_code == 204

    assert Category.all_objects.get(pk=leaf.pk).deleted_at is not None
    for client in (anon, staff_client):  # staff too, unless they ask
        assert client.get(f"/api/categories/{leaf.pk}").status_code == 404
        listed = client.get("/api/categories").json()
        assert [c["id"] for c in listed["items"]] == [parent.pk]
        assert listed["count"] == 1
        assert client.get("/api/products?category=lamps").json()["count"] == 0
        facets = client.get("/api/products/facets?category=lighting").json()
        assert facets["subtree"]["children"] == []
    # The parent lost a (deleted) child, nothing else: it may be deleted once it is empty.
    assert staff_client.get(f"/api/categories/{parent.pk}").json()["product_count"] == 1


def test_category_staff_see_deleted_categories_on_request(
    staff_client: Client, anon: Client
) -> None:
    live = CategoryFactory()
    deleted = CategoryFactory()
    staff_client.delete(f"/api/categories/{deleted.pk}")

    listed = staff_client.get("/api/categories?include_deleted=true").json()["items"]
    assert {c["id"] for c in listed} == {live.pk, deleted.pk}
    shown = staff_client.get(f"/api/categories/{deleted.pk}?include_deleted=true")
    assert shown.status_code == 200
    assert set(shown.json()) == CATEGORY_FIELDS
    # include_deleted means nothing to the public.
    assert anon.get(f"/api/categories/{deleted.pk}?include_deleted=true").status_code == 404
    public = anon.get("/api/categories?include_deleted=true").json()["items"]
    assert [c["id"] for c in public] == [live.pk]


def test_restore_brings_it_back(staff_client: Client, anon: Client) -> None:
    category = CategoryFactory()
    before = anon.get(f"/api/categories/{category.pk}")
    staff_client.delete(f"/api/categories/{category.pk}")
    response = staff_client.post(f"/api/categories/{category.pk}/restore")
    assert response.status_code == 200
    assert response.json() == before.json()
    assert response["ETag"] == before["ETag"]
    after = anon.get(f"/api/categories/{category.pk}")
    assert (after.status_code, after.json()) == (200, before.json())
    # Restoring a live category is a no-op.
    assert staff_client.post(f"/api/categories/{category.pk}/restore").status_code == 200


def test_restore_is_409_while_the_parent_is_deleted(staff_client: Client) -> None:
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    staff_client.delete(f"/api/categories/{child.pk}")
    staff_client.delete(f"/api/categories/{parent.pk}")
    response = staff_client.post(f"/api/categories/{child.pk}/restore")
    assert response.status_code == 409
    assert response.json()["field"] == "parent_id"
    assert "restore the parent first" in response.json()["detail"]
    assert staff_client.post(f"/api/categories/{parent.pk}/restore").status_code == 200
    restored = staff_client.post(f"/api/categories/{child.pk}/restore")
    assert (restored.status_code, restored.json()["parent_id"]) == (200, parent.pk)


def test_restore_is_409_when_the_slug_was_taken_meanwhile(staff_client: Client) -> None:
    category = CategoryFactory(slug="same")
    staff_client.delete(f"/api/categories/{category.pk}")
    assert _post(staff_client, {"name": "Same", "slug": "same"}).status_code == 201
    response = staff_client.post(f"/api/categories/{category.pk}/restore")
    assert response.status_code == 409
    assert response.json()["field"] == "slug"
    assert Category.all_objects.get(pk=category.pk).deleted_at is not None


def test_a_deleted_categorys_slug_names_the_new_category(
    staff_client: Client, anon: Client
) -> None:
    old = CategoryFactory(slug="lamps")
    staff_client.delete(f"/api/categories/{old.pk}")
    new = _post(staff_client, {"name": "Lamps", "slug": "lamps"}).json()
    product = ProductFactory(category_id=new["id"])
    listed = anon.get("/api/products?category=lamps").json()["items"]
    assert [p["id"] for p in listed] == [product.pk]


def test_restore_of_a_missing_category_is_404(staff_client: Client) -> None:
    assert staff_client.post("/api/categories/987654/restore").status_code == 404


def test_nothing_can_be_filed_under_a_deleted_category(staff_client: Client) -> None:
    deleted = CategoryFactory()
    staff_client.delete(f"/api/categories/{deleted.pk}")
    child = _post(staff_client, {"name": "Orphan", "parent_id": deleted.pk})
    assert (child.status_code, child.json()["field"]) == (422, "parent_id")
    product = staff_client.post(
        "/api/products",
        {"name": "Lamp", "sku": "L-1", "price": "1.00", "stock": 1, "category_id": deleted.pk},
        content_type="application/json",
    )
    assert (product.status_code, product.json()["field"]) == (422, "category_id")


@pytest.mark.parametrize("field", ["name", "slug", "description"])
def test_patch_refuses_null_for_non_nullable_fields(staff_client: Client, field: str) -> None:
    category = CategoryFactory()
    response = _patch(staff_client, category.pk, {field: None})
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_derived_slugs_are_made_unique(staff_client: Client) -> None:
    men = _post(staff_client, {"name": "Men"}).json()
    women = _post(staff_client, {"name": "Women"}).json()
    first = _post(staff_client, {"name": "Shoes", "parent_id": men["id"]})
    second = _post(staff_client, {"name": "Shoes", "parent_id": women["id"]})
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["slug"], second.json()["slug"]) == ("shoes", "shoes-2")


@pytest.mark.parametrize(
    ("name", "slug"), [("Чайник", "чайник"), ("电热水壶", "电热水壶"), ("!!!", "category")]
)
def test_slugs_are_derived_from_any_name(staff_client: Client, name: str, slug: str) -> None:
    response = _post(staff_client, {"name": name})
    assert response.status_code == 201
    assert response.json()["slug"] == slug
    assert _post(staff_client, {"name": name}).json()["slug"] == f"{slug}-2"
