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
