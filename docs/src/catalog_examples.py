"""The examples of docs/catalog.md. tests/docs/test_snippets.py runs every function here.

``client`` is Django's test client (``django.test.Client``): its ``get``/``post`` take the
same arguments as ``requests``, so the calls read the same against a running server once
you prefix the host. The API is mounted at ``/api/``.
"""

# ruff: noqa: S101  (a sample states what the page claims as asserts; the docs tests run it)

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client

from nexus_shop.services.catalog import category_create, product_create


# --8<-- [start:catalogue]
def build_catalogue() -> dict[str, Any]:
    """Shoes > (Running, Trail), and Bags; five products, one of them inactive."""
    shoes = category_create(name="Shoes")
    running = category_create(name="Running", parent_id=shoes.pk)
    trail = category_create(name="Trail", parent_id=shoes.pk)
    bags = category_create(name="Bags")
    products = [
        product_create(
            name="Road runner",
            sku="RUN-1",
            price=Decimal("89.90"),
            stock=3,
            category_id=running.pk,
            description="A light shoe for tarmac. Not for trail use.",
        ),
        product_create(
            name="Trail runner",
            sku="TRL-1",
            price=Decimal("119.00"),
            stock=0,
            category_id=trail.pk,
            description="Grippy outsole for mud and rock.",
        ),
        product_create(
            name="Trail runner GTX",
            sku="TRL-2",
            price=Decimal("149.00"),
            stock=7,
            category_id=trail.pk,
            description="Waterproof membrane.",
        ),
        product_create(
            name="Day pack",
            sku="BAG-1",
            price=Decimal("49.50"),
            stock=12,
            category_id=bags.pk,
        ),
        product_create(
            name="Prototype shoe",
            sku="RUN-X",
            price=Decimal("10.00"),
            stock=1,
            category_id=running.pk,
            is_active=False,
        ),
    ]
    return {"shoes": shoes, "running": running, "trail": trail, "bags": bags, "products": products}


# --8<-- [end:catalogue]


# --8<-- [start:permissions]
def make_catalogue_manager(username: str, password: str) -> Any:
    """A user who may create, change and delete products (and nothing else)."""
    user = get_user_model().objects.create_user(username=username, password=password)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="nexus_shop",
            codename__in=["add_product", "change_product", "delete_product"],
        )
    )
    return user


# --8<-- [end:permissions]


# --8<-- [start:token]
def bearer_client(username: str, password: str) -> Client:
    """Log in through the API and return a client that sends the access token."""
    response = Client().post(
        "/api/auth/token",
        {"username": username, "password": password},
        content_type="application/json",
    )
    assert response.status_code == 200
    access = response.json()["access"]
    return Client(headers={"Authorization": f"Bearer {access}"})


# --8<-- [end:token]


def categories(client: Client) -> None:
    # --8<-- [start:categories]
    response = client.get("/api/categories")
    assert response.status_code == 200
    items = response.json()["items"]
    tree = [(c["slug"], c["parent_id"] is None, c["product_count"]) for c in items]
    # Parents before children; counts include every descendant and skip inactive products.
    assert tree == [
        ("shoes", True, 3),
        ("running", False, 1),
        ("trail", False, 2),
        ("bags", True, 1),
    ]
    # --8<-- [end:categories]


def page_mode(client: Client) -> None:
    # --8<-- [start:page-mode]
    response = client.get("/api/products", {"page": 1, "page_size": 2})
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "count", "count_exact", "page", "page_size", "next_cursor"}
    assert page["count"] == 4  # the inactive product is not counted
    assert page["count_exact"] is True  # below NEXUS_SHOP_EXACT_COUNT_LIMIT
    assert page["page"] == 1
    assert page["page_size"] == 2
    # Newest first (ordering=-created_at is the default).
    assert [p["sku"] for p in page["items"]] == ["BAG-1", "TRL-2"]
    assert page["next_cursor"] is not None  # more pages follow

    # Past the last page: an empty page, not an error.
    late = client.get("/api/products", {"page": 9, "page_size": 2}).json()
    assert late["items"] == []
    assert late["count"] == 4
    assert late["next_cursor"] is None
    # --8<-- [end:page-mode]


def cursor_mode(client: Client) -> None:
    # --8<-- [start:cursor-mode]
    skus = []
    params: dict[str, Any] = {"page_size": 2, "ordering": "price"}
    page = client.get("/api/products", params).json()  # page 1 in page mode
    skus += [p["sku"] for p in page["items"]]
    while page["next_cursor"] is not None:
        params["cursor"] = page["next_cursor"]
        page = client.get("/api/products", params).json()
        assert page["count"] is None  # cursor mode does not count
        assert page["page"] is None
        skus += [p["sku"] for p in page["items"]]
    assert skus == ["BAG-1", "RUN-1", "TRL-1", "TRL-2"]

    # A cursor only fits the ordering it was issued for.
    response = client.get("/api/products", {"cursor": params["cursor"], "ordering": "-price"})
    assert response.status_code == 422
    assert response.json()["field"] == "cursor"
    # --8<-- [end:cursor-mode]


def filters(client: Client) -> None:
    # --8<-- [start:filters]
    # category=shoes includes the Running and Trail subcategories.
    response = client.get(
        "/api/products",
        {"category": "shoes", "min_price": "100", "in_stock": "true", "ordering": "price"},
    )
    assert [p["sku"] for p in response.json()["items"]] == ["TRL-2"]

    response = client.get("/api/products", {"category": "shoes", "ordering": "-price"})
    assert [p["sku"] for p in response.json()["items"]] == ["TRL-2", "TRL-1", "RUN-1"]

    # An unknown category slug matches nothing.
    response = client.get("/api/products", {"category": "hats"})
    assert response.status_code == 200
    assert response.json()["count"] == 0
    # --8<-- [end:filters]


def product_json(client: Client) -> None:
    # --8<-- [start:product-json]
    page = client.get("/api/products", {"category": "bags"}).json()
    product = page["items"][0]
    assert product["price"] == "49.50"  # a decimal string, never a float
    assert product["currency"] == "USD"  # NEXUS_SHOP_CURRENCY
    assert product["in_stock"] is True
    assert product["category"] == {"id": product["category"]["id"], "name": "Bags", "slug": "bags"}
    assert product["price_range"] == {"min": "49.50", "max": "49.50"}  # its variants' prices
    assert sorted(product) == [
        "category",
        "created_at",
        "currency",
        "description",
        "id",
        "in_stock",
        "is_active",
        "name",
        "options",
        "price",
        "price_range",
        "sku",
        "slug",
        "stock",
        "thumbnail",
        "updated_at",
    ]
    # --8<-- [end:product-json]


def search(client: Client) -> None:
    # --8<-- [start:search]
    response = client.get("/api/products", {"q": "trail", "ordering": "relevance"})
    skus = [p["sku"] for p in response.json()["items"]]
    # Name matches rank above description matches ("Not for trail use").
    assert set(skus[:2]) == {"TRL-1", "TRL-2"}
    assert skus[2:] == ["RUN-1"]
    # --8<-- [end:search]


def search_postgresql(client: Client) -> None:
    assert connection.vendor == "postgresql"
    # --8<-- [start:search-postgresql]
    # Stemming: "runners" finds "runner".
    response = client.get("/api/products", {"q": "runners"})
    assert {p["sku"] for p in response.json()["items"]} == {"RUN-1", "TRL-1", "TRL-2"}
    # The last word is a prefix: "waterproof memb" finds "membrane".
    response = client.get("/api/products", {"q": "waterproof memb"})
    assert [p["sku"] for p in response.json()["items"]] == ["TRL-2"]
    # websearch syntax: a leading minus excludes.
    response = client.get("/api/products", {"q": "runner -waterproof"})
    assert {p["sku"] for p in response.json()["items"]} == {"RUN-1", "TRL-1"}
    # --8<-- [end:search-postgresql]


def search_other_databases(client: Client) -> None:
    assert connection.vendor != "postgresql"
    # --8<-- [start:search-other]
    # A case-insensitive substring of the name or the description.
    response = client.get("/api/products", {"q": "AIL RUN"})
    assert {p["sku"] for p in response.json()["items"]} == {"TRL-1", "TRL-2"}
    response = client.get("/api/products", {"q": "outsole"})
    assert [p["sku"] for p in response.json()["items"]] == ["TRL-1"]
    # --8<-- [end:search-other]


def writes(manager: Client, anonymous: Client) -> None:
    # --8<-- [start:writes]
    response = manager.post(
        "/api/products",
        {"name": "Trail sock", "sku": "SCK-1", "price": "12.00", "stock": 40},
        content_type="application/json",
    )
    assert response.status_code == 201
    sock = response.json()
    assert sock["slug"] == "trail-sock"  # derived from the name
    assert sock["category"] is None

    # The sku (and slug) must be unique among live products.
    response = manager.post(
        "/api/products",
        {"name": "Other sock", "sku": "SCK-1", "price": "9.00", "stock": 1},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A product with sku 'SCK-1' already exists.",
        "errors": [
            {
                "loc": ["body", "sku"],
                "msg": "A product with sku 'SCK-1' already exists.",
                "type": "conflict",
            }
        ],
        "field": "sku",
    }

    # PATCH changes the fields sent; PUT replaces the product.
    response = manager.patch(
        f"/api/products/{sock['id']}", {"price": "11.50"}, content_type="application/json"
    )
    assert response.json()["price"] == "11.50"

    # DELETE is a soft delete: the product disappears from public reads...
    assert manager.delete(f"/api/products/{sock['id']}").status_code == 204
    assert anonymous.get(f"/api/products/{sock['id']}").status_code == 404
    # POST .../restore brings it back.
    response = manager.post(f"/api/products/{sock['id']}/restore")
    assert response.status_code == 200
    assert anonymous.get(f"/api/products/{sock['id']}").status_code == 200
    # --8<-- [end:writes]


def restore_conflict(manager: Client) -> None:
    # --8<-- [start:restore-conflict]
    first = manager.post(
        "/api/products",
        {"name": "Gaiter", "sku": "GTR-1", "price": "25.00", "stock": 5},
        content_type="application/json",
    ).json()
    manager.delete(f"/api/products/{first['id']}")
    # While the first is deleted, a new product may take its sku and slug...
    second = manager.post(
        "/api/products",
        {"name": "Gaiter", "sku": "GTR-1", "price": "27.00", "stock": 5},
        content_type="application/json",
    )
    assert second.status_code == 201
    assert second.json()["slug"] == "gaiter"
    # ...and then the first cannot come back.
    response = manager.post(f"/api/products/{first['id']}/restore")
    assert response.status_code == 409
    # --8<-- [end:restore-conflict]


def visibility(anonymous: Client, manager: Client) -> None:
    # --8<-- [start:visibility]
    hidden = manager.get("/api/products", {"category": "running"}).json()["items"]
    prototype = next(p for p in hidden if p["sku"] == "RUN-X")
    assert prototype["is_active"] is False

    # The public does not see inactive products, in lists or by id.
    public = anonymous.get("/api/products", {"category": "running"}).json()["items"]
    assert [p["sku"] for p in public] == ["RUN-1"]
    assert anonymous.get(f"/api/products/{prototype['id']}").status_code == 404

    # Soft-deleted products: staff ask for them with include_deleted=true.
    manager.delete(f"/api/products/{prototype['id']}")
    assert manager.get(f"/api/products/{prototype['id']}").status_code == 404
    response = manager.get(f"/api/products/{prototype['id']}", {"include_deleted": "true"})
    assert response.status_code == 200
    # For everyone else include_deleted is ignored.
    response = anonymous.get("/api/products", {"include_deleted": "true", "category": "running"})
    assert [p["sku"] for p in response.json()["items"]] == ["RUN-1"]
    # --8<-- [end:visibility]


def errors(anonymous: Client, customer: Client) -> None:
    # --8<-- [start:errors]
    # Every error has one shape: detail is a sentence, errors lists the fields at fault.
    response = anonymous.get("/api/products", {"page_size": 500})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("Invalid input: query.page_size:")
    problem = body["errors"][0]
    assert problem["loc"] == ["query", "page_size"]
    assert problem["type"] == "less_than_equal"

    # Domain errors: 404, 409, ... (errors names the field when one is at fault).
    response = anonymous.get("/api/products/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "No product with id 999999.", "errors": []}

    # Writes without a token: 401. With a token but without the permission: 403.
    body = {"name": "Cap", "sku": "CAP-1", "price": "15.00", "stock": 2}
    assert anonymous.post("/api/products", body, content_type="application/json").status_code == 401
    response = customer.post("/api/products", body, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You need the 'nexus_shop.add_product' permission.",
        "errors": [],
    }

    # Unknown fields in a body are refused, not ignored.
    response = customer.patch("/api/products/1", {"colour": "red"}, content_type="application/json")
    assert response.status_code == 422
    # --8<-- [end:errors]


def category_writes(editor: Client) -> None:
    # --8<-- [start:category-writes]
    shoes = editor.get("/api/categories").json()["items"][0]
    response = editor.post(
        "/api/categories",
        {"name": "Kids", "parent_id": shoes["id"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    kids = response.json()
    assert kids["slug"] == "kids"

    # A category cannot move below itself.
    response = editor.patch(
        f"/api/categories/{shoes['id']}", {"parent_id": kids["id"]}, content_type="application/json"
    )
    assert response.status_code == 422

    # Only a category without live children and products (deleted ones included) can be
    # deleted. Deleting is a soft delete: the category disappears from every read...
    assert editor.delete(f"/api/categories/{shoes['id']}").status_code == 409
    assert editor.delete(f"/api/categories/{kids['id']}").status_code == 204
    assert editor.get(f"/api/categories/{kids['id']}").status_code == 404

    # ...but category staff find it with include_deleted=true, and restore it.
    found = editor.get(f"/api/categories/{kids['id']}", {"include_deleted": "true"})
    assert found.status_code == 200
    response = editor.post(
        f"/api/categories/{kids['id']}/restore", headers={"If-Match": found["ETag"]}
    )
    assert response.status_code == 200
    assert response.json() == kids
    # --8<-- [end:category-writes]
