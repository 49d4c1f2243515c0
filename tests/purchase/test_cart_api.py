"""The cart endpoints' contract (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Cart, CartLine, Product, ProductVariant
from nexus_shop.services.variants import variant_soft_delete
from tests.factories import ProductFactory, UserFactory
from tests.purchase.conftest import (
    default_variant,
    fill_cart,
    set_variant,
    user_client,
    variant_product,
)

pytestmark = pytest.mark.django_db


def anon_cart(client: Client) -> str:
    response = client.post("/api/cart")
    assert response.status_code == 201
    token: str = response.json()["token"]
    return token


def test_anonymous_post_creates_a_cart_with_a_long_token_stored_hashed(anon: Client) -> None:
    response = anon.post("/api/cart")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "token", "lines", "subtotal", "currency"}
    assert body["lines"] == []
    assert body["subtotal"] == "0.00"
    assert body["currency"] == "USD"
    token = body["token"]
    assert len(token) >= 43  # 32 random bytes, base64url: 256 bits
    cart = Cart.objects.get(pk=body["id"])
    assert cart.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Cart.objects.values_list("token_hash", flat=True))


def test_a_user_gets_201_then_200_and_no_token(buyer_client: Client) -> None:
    first = buyer_client.post("/api/cart")
    second = buyer_client.post("/api/cart")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert "token" not in first.json()


def test_get_without_a_cart_or_with_an_unknown_token_is_404(
    anon: Client, buyer_client: Client
) -> None:
    assert anon.get("/api/cart").status_code == 404
    assert anon.get("/api/cart", headers={"X-Cart-Token": "nope"}).status_code == 404
    assert buyer_client.get("/api/cart").status_code == 404


def test_lines_show_live_prices_and_stock(anon: Client) -> None:
    product = ProductFactory(price="19.99", stock=1, name="Mug", sku="MUG-1")
    token = anon_cart(anon)
    cart = fill_cart(anon, [(product.pk, 2)], **{"X-Cart-Token": token})
    line = cart["lines"][0]
    assert line == {
        "id": line["id"],
        "product_id": product.pk,
        "variant_id": default_variant(product).pk,
        "name": "Mug",
        "sku": "MUG-1",
        "options": {},
        "unit_price": "19.99",
        "quantity": 2,
        "line_total": "39.98",
        "available": 1,
        "insufficient_stock": True,
    }
    assert cart["subtotal"] == "39.98"
    assert "token" not in cart
    set_variant(product, price="5.00")
    again = anon.get("/api/cart", headers={"X-Cart-Token": token}).json()
    assert again["lines"][0]["unit_price"] == "5.00"
    assert again["subtotal"] == "10.00"


def test_adding_again_adds_up_and_1000_is_the_limit(anon: Client) -> None:
    product = ProductFactory()
    token = anon_cart(anon)
    headers = {"X-Cart-Token": token}
    fill_cart(anon, [(product.pk, 400), (product.pk, 600)], **headers)
    assert CartLine.objects.get().quantity == 1000
    too_many = anon.post(
        "/api/cart/items",
        {"product_id": product.pk, "quantity": 1},
        content_type="application/json",
        headers=headers,
    )
    assert too_many.status_code == 422
    for quantity in (0, 1001):
        response = anon.post(
            "/api/cart/items",
            {"product_id": product.pk, "quantity": quantity},
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 422


@pytest.mark.parametrize("state", ["missing", "deleted", "inactive"])
def test_a_product_that_cannot_be_bought_is_422(anon: Client, state: str) -> None:
    product = ProductFactory(is_active=state != "inactive")
    if state == "deleted":
        from nexus_shop.services.catalog import product_soft_delete

        product_soft_delete(product_id=product.pk)
    product_id = product.pk + 1000 if state == "missing" else product.pk
    token = anon_cart(anon)
    response = anon.post(
        "/api/cart/items",
        {"product_id": product_id},
        content_type="application/json",
        headers={"X-Cart-Token": token},
    )
    assert response.status_code == 422
    assert "can be bought" in response.json()["detail"]


def _add(client: Client, body: dict[str, Any], token: str) -> Any:
    return client.post(
        "/api/cart/items", body, content_type="application/json", headers={"X-Cart-Token": token}
    )


def test_a_variant_is_added_by_id_and_its_line_shows_the_variant(anon: Client) -> None:
    product, (small, medium, _) = variant_product(
        stocks=(3, 0, 7), prices=("20.00", "22.50", "25.00")
    )
    token = anon_cart(anon)

    cart = fill_cart(
        anon,
        [(medium.pk, 2), (small.pk, 1), (medium.pk, 1)],
        key="variant_id",
        **{"X-Cart-Token": token},
    )

    assert [
        (line["variant_id"], line["sku"], line["options"], line["unit_price"], line["quantity"])
        for line in cart["lines"]
    ] == [
        (medium.pk, medium.sku, {"Size": "M"}, "22.50", 3),  # adding it again added up
        (small.pk, small.sku, {"Size": "S"}, "20.00", 1),
    ]
    assert {line["product_id"] for line in cart["lines"]} == {product.pk}
    assert {line["name"] for line in cart["lines"]} == {product.name}
    # Stock is the variant's, not the product's sum (10).
    assert [(line["available"], line["insufficient_stock"]) for line in cart["lines"]] == [
        (0, True),
        (3, False),
    ]
    assert cart["subtotal"] == "87.50"
    assert CartLine.objects.filter(variant=medium).count() == 1


def test_a_product_id_whose_product_has_one_variant_for_sale_adds_that_one(
    anon: Client,
) -> None:
    # Inactive variants are not for sale: they never make the client choose.
    product, (small, medium, large) = variant_product()
    set_variant(small, is_active=False)
    set_variant(large, is_active=False)
    token = anon_cart(anon)

    response = _add(anon, {"product_id": product.pk, "quantity": 1}, token)

    assert response.status_code in {200, 201}, response.content
    assert list(CartLine.objects.values_list("variant_id", flat=True)) == [medium.pk]


def test_a_product_id_of_a_multi_variant_product_is_422_listing_its_variants(
    anon: Client,
) -> None:
    product, (small, medium, large) = variant_product()
    set_variant(large, is_active=False)  # not for sale: not offered
    token = anon_cart(anon)

    response = _add(anon, {"product_id": product.pk, "quantity": 1}, token)

    assert response.status_code == 422
    body = response.json()
    assert body["variant_ids"] == [small.pk, medium.pk]
    assert body["field"] == "product_id"
    assert body["errors"][0]["loc"] == ["body", "product_id"]
    assert "variant_id" in body["detail"]
    assert not CartLine.objects.exists()


def test_a_product_id_of_a_single_variant_product_adds_its_variant(anon: Client) -> None:
    product = ProductFactory()
    token = anon_cart(anon)
    by_product = _add(anon, {"product_id": product.pk, "quantity": 2}, token)
    by_variant = _add(anon, {"variant_id": default_variant(product).pk, "quantity": 3}, token)
    assert (by_product.status_code, by_variant.status_code) == (200, 200)
    assert [(line["variant_id"], line["quantity"]) for line in by_variant.json()["lines"]] == [
        (default_variant(product).pk, 5)  # one line: the same variant
    ]


@pytest.mark.parametrize("given", ["neither", "both", "null"])
def test_exactly_one_of_variant_id_and_product_id(anon: Client, given: str) -> None:
    product = ProductFactory()
    ids = {"variant_id": default_variant(product).pk, "product_id": product.pk}
    bodies: dict[str, dict[str, Any]] = {
        "neither": {},
        "both": ids,
        "null": {"variant_id": None, "product_id": None},
    }
    response = _add(anon, {**bodies[given], "quantity": 1}, anon_cart(anon))
    assert response.status_code == 422
    assert "exactly one of variant_id and product_id" in response.json()["detail"]
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("state", ["missing", "deleted", "inactive", "product inactive"])
def test_a_variant_that_cannot_be_bought_is_422(anon: Client, state: str) -> None:
    product, (_, medium, _) = variant_product()
    variant_id = medium.pk
    if state == "missing":
        variant_id += 1000
    elif state == "deleted":
        variant_soft_delete(product_id=product.pk, variant_id=medium.pk)
    elif state == "inactive":
        set_variant(medium, is_active=False)
    else:
        Product.objects.filter(pk=product.pk).update(is_active=False)

    response = _add(anon, {"variant_id": variant_id}, anon_cart(anon))

    assert response.status_code == 422
    assert response.json()["field"] == "variant_id"
    assert "can be bought" in response.json()["detail"]


def test_a_line_whose_variant_stops_being_for_sale_shows_none_available(anon: Client) -> None:
    _, (small, medium, _) = variant_product(stocks=(4, 4, 4))
    token = anon_cart(anon)
    fill_cart(anon, [(small.pk, 1), (medium.pk, 1)], key="variant_id", **{"X-Cart-Token": token})
    set_variant(medium, is_active=False)

    lines = anon.get("/api/cart", headers={"X-Cart-Token": token}).json()["lines"]

    assert [(line["variant_id"], line["available"]) for line in lines] == [
        (small.pk, 4),
        (medium.pk, 0),
    ]
    assert ProductVariant.objects.get(pk=medium.pk).stock == 4


def test_patch_and_delete_a_line(anon: Client) -> None:
    a, b = ProductFactory(), ProductFactory()
    token = anon_cart(anon)
    headers = {"X-Cart-Token": token}
    cart = fill_cart(anon, [(a.pk, 1), (b.pk, 1)], **headers)
    line_id = cart["lines"][0]["id"]
    patched = anon.patch(
        f"/api/cart/items/{line_id}",
        {"quantity": 7},
        content_type="application/json",
        headers=headers,
    )
    assert patched.status_code == 200
    assert patched.json()["lines"][0]["quantity"] == 7
    bad = anon.patch(
        f"/api/cart/items/{line_id}",
        {"quantity": 1001},
        content_type="application/json",
        headers=headers,
    )
    assert bad.status_code == 422
    removed = anon.delete(f"/api/cart/items/{line_id}", headers=headers)
    assert removed.status_code == 200
    assert [line["product_id"] for line in removed.json()["lines"]] == [b.pk]
    cleared = anon.delete("/api/cart", headers=headers)
    assert cleared.status_code == 204
    assert anon.get("/api/cart", headers=headers).json()["lines"] == []


def test_another_holders_line_is_404(anon: Client, buyer_client: Client) -> None:
    product = ProductFactory()
    token = anon_cart(anon)
    line_id = fill_cart(anon, [(product.pk, 1)], **{"X-Cart-Token": token})["lines"][0]["id"]
    fill_cart(buyer_client, [(product.pk, 1)])
    other = Client()
    other_token = anon_cart(other)
    for client, headers in ((buyer_client, {}), (other, {"X-Cart-Token": other_token})):
        patch = client.patch(
            f"/api/cart/items/{line_id}",
            {"quantity": 2},
            content_type="application/json",
            headers=headers,
        )
        delete = client.delete(f"/api/cart/items/{line_id}", headers=headers)
        assert (patch.status_code, delete.status_code) == (404, 404)
    assert CartLine.objects.get(pk=line_id).quantity == 1


def test_merge_adds_quantities_caps_at_1000_and_retires_the_token(anon: Client) -> None:
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()
    user = UserFactory()
    client = user_client(user)
    fill_cart(client, [(a.pk, 2), (b.pk, 900)])
    token = anon_cart(anon)
    fill_cart(anon, [(a.pk, 3), (b.pk, 200), (c.pk, 1)], **{"X-Cart-Token": token})

    merged = client.get("/api/cart", headers={"X-Cart-Token": token})

    assert merged.status_code == 200
    quantities = {line["product_id"]: line["quantity"] for line in merged.json()["lines"]}
    assert quantities == {a.pk: 5, b.pk: 1000, c.pk: 1}
    assert len(merged.json()["lines"]) == 3  # one line per variant
    assert anon.get("/api/cart", headers={"X-Cart-Token": token}).status_code == 404
    assert Cart.objects.count() == 1


def test_post_cart_as_a_new_user_with_a_token_adopts_its_lines(anon: Client) -> None:
    product = ProductFactory()
    token = anon_cart(anon)
    fill_cart(anon, [(product.pk, 2)], **{"X-Cart-Token": token})
    client = user_client(UserFactory())
    response = client.post("/api/cart", headers={"X-Cart-Token": token})
    assert response.status_code == 201
    assert [line["quantity"] for line in response.json()["lines"]] == [2]


def test_cart_answers_are_private_and_not_stored(anon: Client) -> None:
    created = anon.post("/api/cart")
    token = created.json()["token"]
    missing = anon.get("/api/cart", headers={"X-Cart-Token": "unknown"})
    for response in (created, anon.get("/api/cart", headers={"X-Cart-Token": token})):
        assert response["Cache-Control"] == "private, no-store"
    assert "no-store" in missing["Cache-Control"]  # errors: never stored either


def test_the_token_never_reaches_the_logs(anon: Client, caplog: Any) -> None:
    caplog.set_level("DEBUG")
    token = anon_cart(anon)
    headers = {"X-Cart-Token": token}
    anon.post(
        "/api/cart/items",
        {"product_id": 10**9},
        content_type="application/json",
        headers=headers,
    )
    anon.patch(
        "/api/cart/items/999999", {"quantity": 2}, content_type="application/json", headers=headers
    )
    anon.get("/api/cart", headers=headers)
    assert caplog.records  # the 404 and 422 were logged...
    assert token not in caplog.text  # ...without the token
    assert token[:12] not in caplog.text


def test_invalid_bearer_is_401_not_anonymous(anon: Client) -> None:
    response = anon.get("/api/cart", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


def test_a_merged_line_keeps_its_id(anon: Client) -> None:
    product = ProductFactory()
    token = anon_cart(anon)
    line_id = fill_cart(anon, [(product.pk, 2)], **{"X-Cart-Token": token})["lines"][0]["id"]
    client = user_client(UserFactory())
    response = client.patch(
        f"/api/cart/items/{line_id}",
        {"quantity": 5},
        content_type="application/json",
        headers={"X-Cart-Token": token},
    )
    assert response.status_code == 200
    assert [(line["id"], line["quantity"]) for line in response.json()["lines"]] == [(line_id, 5)]


@pytest.mark.parametrize("value", [True, "1", 1.0, 0, -1])
@pytest.mark.parametrize("field", ["variant_id", "product_id"])
def test_ids_are_strict_json_integers_from_1(anon: Client, field: str, value: Any) -> None:
    ProductFactory()  # whatever its id, true, "1" and 1.0 are not ids
    token = anon_cart(anon)
    response = anon.post(
        "/api/cart/items",
        {field: value, "quantity": 1},
        content_type="application/json",
        headers={"X-Cart-Token": token},
    )
    assert response.status_code == 422
    assert not CartLine.objects.exists()
