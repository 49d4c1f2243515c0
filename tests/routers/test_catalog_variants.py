"""The variant endpoints and the product endpoints' options and variants, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from nexus_shop.models import Product, ProductVariant
from tests.conftest import bearer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

VARIANT_FIELDS = {
    "id",
    "sku",
    "options",
    "price",
    "compare_at_price",
    "stock",
    "in_stock",
    "is_active",
    "position",
}
TEE = {
    "name": "Tee",
    "sku": "TEE",
    "options": [
        {"name": "Size", "values": ["S", "M", "L"]},
        {"name": "Colour", "values": ["Red", "Blue"]},
    ],
    "variants": [
        {"sku": "TEE-S-R", "options": {"Size": "S", "Colour": "Red"}, "price": "10.00", "stock": 5},
        {"sku": "TEE-M-R", "options": {"Size": "M", "Colour": "Red"}, "price": "12.00", "stock": 0},
    ],
}


def _send(client: Client, method: str, path: str, body: Any = None, **headers: str) -> Any:
    return getattr(client, method)(path, body, content_type="application/json", headers=headers)


@pytest.fixture
def tee(staff_client: Client) -> dict[str, Any]:
    response = _send(staff_client, "post", "/api/products", TEE)
    assert response.status_code == 201, response.json()
    data: dict[str, Any] = response.json()
    return data


def _variant_id(product: dict[str, Any], sku: str) -> int:
    return int(next(v["id"] for v in product["variants"] if v["sku"] == sku))


def _errors(response: Any) -> tuple[int, str]:
    """Status and detail of an error answer, which must be the JSON error shape."""
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return response.status_code, body["detail"]


# Reading -------------------------------------------------------------------------------------


def test_the_detail_shows_options_variants_and_derived_fields(tee: dict[str, Any]) -> None:
    assert tee["options"] == TEE["options"]
    assert [set(v) for v in tee["variants"]] == [VARIANT_FIELDS] * 2
    first = tee["variants"][0]
    assert first["options"] == {"Size": "S", "Colour": "Red"}
    assert first["price"] == "10.00"
    assert first["compare_at_price"] is None
    assert (first["in_stock"], tee["variants"][1]["in_stock"]) == (True, False)
    assert tee["price"] == "10.00"
    assert tee["price_range"] == {"min": "10.00", "max": "12.00"}
    assert (tee["stock"], tee["in_stock"]) == (5, True)


def test_the_list_has_price_range_and_options_but_no_variants(
    tee: dict[str, Any], anon: Client
) -> None:
    (item,) = anon.get("/api/products").json()["items"]
    assert item["price_range"] == {"min": "10.00", "max": "12.00"}
    assert item["options"] == TEE["options"]
    assert "variants" not in item
    assert item["thumbnail"] is None


def test_the_public_sees_active_variants_and_only_products_with_one(
    staff_client: Client, anon: Client, tee: dict[str, Any]
) -> None:
    path = f"/api/products/{tee['id']}"
    m_red = _variant_id(tee, "TEE-M-R")
    _send(staff_client, "patch", f"{path}/variants/{m_red}", {"is_active": False})
    assert [v["sku"] for v in anon.get(path).json()["variants"]] == ["TEE-S-R"]
    assert len(staff_client.get(path).json()["variants"]) == 2  # staff see every live one
    s_red = _variant_id(tee, "TEE-S-R")
    _send(staff_client, "patch", f"{path}/variants/{s_red}", {"is_active": False})
    assert anon.get(path).status_code == 404
    assert anon.get("/api/products").json()["items"] == []
    assert staff_client.get(path).status_code == 200  # staff still see it
    _send(staff_client, "patch", f"{path}/variants/{s_red}", {"is_active": True})
    assert anon.get(path).status_code == 200


# POST variants -------------------------------------------------------------------------------


def test_post_variant_answers_201_with_the_product_detail(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    response = _send(
        staff_client,
        "post",
        f"/api/products/{tee['id']}/variants",
        {
            "sku": "TEE-L-B",
            "options": {"size": "l", "colour": "BLUE"},
            "price": "20.00",
            "compare_at_price": "25.00",
            "stock": 3,
        },
    )
    assert response.status_code == 201
    assert response["ETag"]
    data = response.json()
    assert data["id"] == tee["id"]
    added = next(v for v in data["variants"] if v["sku"] == "TEE-L-B")
    assert added["options"] == {"Size": "L", "Colour": "Blue"}
    assert added["compare_at_price"] == "25.00"
    assert data["price_range"] == {"min": "10.00", "max": "20.00"}
    assert data["stock"] == 8
    assert response["ETag"] == staff_client.get(f"/api/products/{tee['id']}")["ETag"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"sku": "TEE-S-R", "options": {"Size": "L", "Colour": "Red"}}, 409, "sku"),
        ({"sku": "NEW", "options": {"Size": "s", "Colour": "red"}}, 409, "same option values"),
        ({"sku": "NEW", "options": {"Size": "L"}}, 422, "needs a value for option 'Colour'"),
        ({"sku": "NEW", "options": {"Size": "L", "Colour": "Red", "Fit": "x"}}, 422, "'Fit'"),
        ({"sku": "NEW", "options": {"Size": "XXL", "Colour": "Red"}}, 422, "'XXL'"),
        (
            {"sku": "NEW", "options": {"Size": "L", "Colour": "Red"}, "compare_at_price": "9.99"},
            422,
            "compare_at_price",
        ),
        ({"sku": "NEW", "options": {"Size": "L", "Colour": "Red"}, "extra": 1}, 422, ""),
        ({"sku": "NEW", "options": {"Size": "L", "Colour": "Red"}, "stock": -1}, 422, ""),
    ],
)
def test_post_variant_bad_input_is_a_clear_error_and_stores_nothing(
    staff_client: Client, tee: dict[str, Any], body: dict[str, Any], status: int, words: str
) -> None:
    before = list(ProductVariant.all_objects.values())
    response = _send(
        staff_client,
        "post",
        f"/api/products/{tee['id']}/variants",
        {"price": "10.00", "stock": 1, **body},
    )
    code, detail = _errors(response)
    assert code == status
    assert words in detail or any(words in str(e) for e in response.json()["errors"])
    assert list(ProductVariant.all_objects.values()) == before


# PATCH variants ------------------------------------------------------------------------------


def test_patch_variant_answers_200_with_the_product_detail_and_its_new_etag(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    path = f"/api/products/{tee['id']}"
    etag = staff_client.get(path)["ETag"]
    response = _send(
        staff_client,
        "patch",
        f"{path}/variants/{_variant_id(tee, 'TEE-M-R')}",
        {"price": "8.00", "stock": 4},
        **{"If-Match": etag},
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["price"], data["stock"]) == ("8.00", 9)
    assert response["ETag"] != etag
    assert response["ETag"] == staff_client.get(path)["ETag"]


def test_patch_variant_if_match_takes_the_products_etag(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    path = f"/api/products/{tee['id']}"
    stale = staff_client.get(path)["ETag"]
    _send(staff_client, "patch", path, {"name": "Renamed"})  # the product changed, not a variant
    variant = f"{path}/variants/{_variant_id(tee, 'TEE-M-R')}"
    response = _send(staff_client, "patch", variant, {"stock": 1}, **{"If-Match": stale})
    assert _errors(response)[0] == 412
    assert ProductVariant.objects.get(sku="TEE-M-R").stock == 0
    for method, suffix in (("delete", ""), ("post", "/restore")):
        response = _send(staff_client, method, variant + suffix, **{"If-Match": stale})
        assert response.status_code == 412
    response = _send(
        staff_client,
        "post",
        f"{path}/variants",
        {"sku": "N", "price": "1", "stock": 1, "options": {"Size": "L", "Colour": "Red"}},
        **{"If-Match": stale},
    )
    assert response.status_code == 412


def test_stock_delta_needs_no_if_match_and_never_goes_below_zero(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    path = f"/api/products/{tee['id']}/variants/{_variant_id(tee, 'TEE-S-R')}"
    response = _send(staff_client, "patch", path, {"stock_delta": 10})
    assert response.status_code == 200
    assert response.json()["stock"] == 15
    response = _send(staff_client, "patch", path, {"stock_delta": -16})
    code, detail = _errors(response)
    assert code == 409
    assert "below 0" in detail
    assert ProductVariant.objects.get(sku="TEE-S-R").stock == 15


@pytest.mark.parametrize(
    "body",
    [
        {"stock": 1, "stock_delta": 1},
        {"stock_delta": None},
        {"stock_delta": "1"},
        {"price": None},
        {"options": None},
        {"unknown": 1},
    ],
)
def test_patch_variant_refuses_bad_bodies_with_a_422(
    staff_client: Client, tee: dict[str, Any], body: dict[str, Any]
) -> None:
    path = f"/api/products/{tee['id']}/variants/{_variant_id(tee, 'TEE-S-R')}"
    assert _errors(_send(staff_client, "patch", path, body))[0] == 422


def test_a_variant_of_another_product_or_a_missing_one_is_a_404(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    other = _send(
        staff_client,
        "post",
        "/api/products",
        {"name": "Mug", "sku": "MUG", "price": "1", "stock": 1},
    ).json()
    foreign = other["variants"][0]["id"]
    assert (
        _errors(
            _send(
                staff_client, "patch", f"/api/products/{tee['id']}/variants/{foreign}", {"stock": 1}
            )
        )[0]
        == 404
    )
    assert (
        _send(
            staff_client, "patch", f"/api/products/999999/variants/{foreign}", {"stock": 1}
        ).status_code
        == 404
    )


# DELETE and restore --------------------------------------------------------------------------


def test_delete_and_restore_a_variant(
    staff_client: Client, anon: Client, tee: dict[str, Any]
) -> None:
    path = f"/api/products/{tee['id']}"
    variant = _variant_id(tee, "TEE-S-R")
    response = _send(staff_client, "delete", f"{path}/variants/{variant}")
    assert response.status_code == 204
    assert [v["sku"] for v in staff_client.get(path).json()["variants"]] == ["TEE-M-R"]
    assert anon.get(path).json()["price"] == "12.00"
    response = _send(staff_client, "post", f"{path}/variants/{variant}/restore")
    assert response.status_code == 200
    assert {v["sku"] for v in response.json()["variants"]} == {"TEE-S-R", "TEE-M-R"}


def test_the_last_variant_cannot_be_deleted(staff_client: Client) -> None:
    mug = _send(
        staff_client,
        "post",
        "/api/products",
        {"name": "Mug", "sku": "MUG", "price": "1", "stock": 1},
    ).json()
    response = _send(
        staff_client, "delete", f"/api/products/{mug['id']}/variants/{mug['variants'][0]['id']}"
    )
    code, detail = _errors(response)
    assert code == 409
    assert "last variant" in detail


@pytest.mark.parametrize(
    "case",
    [
        (
            "post",
            "",
            {"sku": "N", "price": "1", "stock": 1, "options": {"Size": "L", "Colour": "Red"}},
            "change_product",
            201,
        ),
        ("patch", "/{v}", {"stock": 2}, "change_product", 200),
        ("delete", "/{v}", None, "delete_product", 204),
        ("post", "/{v}/restore", None, "delete_product", 200),
    ],
)
def test_variant_writes_need_their_permission(
    tee: dict[str, Any], case: tuple[str, str, Any, str, int]
) -> None:
    method, suffix, body, perm, ok = case
    path = f"/api/products/{tee['id']}/variants" + suffix.format(v=_variant_id(tee, "TEE-M-R"))
    assert _send(Client(), method, path, body).status_code == 401
    others = [p for p in ("add_product", "change_product", "delete_product") if p != perm]
    lacking = Client(headers=bearer(UserFactory(perms=others)))
    assert _errors(_send(lacking, method, path, body))[0] == 403
    allowed = Client(headers=bearer(UserFactory(perms=[perm])))
    assert _send(allowed, method, path, body).status_code == ok


# Compatibility -------------------------------------------------------------------------------


def test_an_old_clients_post_makes_one_default_variant(staff_client: Client) -> None:
    response = _send(
        staff_client,
        "post",
        "/api/products",
        {"name": "Mug", "sku": "MUG-1", "price": "7.50", "stock": 4},
    )
    assert response.status_code == 201
    data = response.json()
    (variant,) = data["variants"]
    assert (variant["sku"], variant["price"], variant["stock"], variant["options"]) == (
        "MUG-1",
        "7.50",
        4,
        {},
    )
    assert data["options"] == []
    assert data["price_range"] == {"min": "7.50", "max": "7.50"}


def test_post_needs_price_and_stock_without_variants_and_refuses_them_with(
    staff_client: Client,
) -> None:
    response = _send(staff_client, "post", "/api/products", {"name": "Mug", "sku": "M"})
    assert _errors(response)[0] == 422
    assert {e["loc"][-1] for e in response.json()["errors"]} == {"price", "stock"}
    response = _send(staff_client, "post", "/api/products", {**TEE, "price": "1"})
    assert _errors(response)[0] == 422
    assert not Product.all_objects.exists()


def test_patch_price_and_stock_of_a_single_variant_product_writes_its_variant(
    staff_client: Client,
) -> None:
    mug = _send(
        staff_client,
        "post",
        "/api/products",
        {"name": "Mug", "sku": "MUG", "price": "1", "stock": 1},
    ).json()
    response = _send(
        staff_client,
        "patch",
        f"/api/products/{mug['id']}",
        {"price": "2.00", "stock": 0, "sku": "MUG-2"},
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["price"], data["stock"], data["in_stock"]) == ("2.00", 0, False)
    assert data["variants"][0]["sku"] == "MUG-2"
    assert (data["variants"][0]["price"], data["variants"][0]["stock"]) == ("2.00", 0)


def test_patch_price_of_a_multi_variant_product_is_a_422_naming_the_variant_endpoint(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    response = _send(
        staff_client, "patch", f"/api/products/{tee['id']}", {"price": "5.00", "name": "X"}
    )
    code, detail = _errors(response)
    assert code == 422
    assert f"/api/products/{tee['id']}/variants/" in detail
    assert staff_client.get(f"/api/products/{tee['id']}").json()["name"] == "Tee"


def test_put_matches_variants_by_id(staff_client: Client, tee: dict[str, Any]) -> None:
    s_red, m_red = tee["variants"]
    body = {
        **{k: v for k, v in TEE.items() if k != "variants"},
        "variants": [
            {**{k: s_red[k] for k in ("id", "sku", "options", "stock")}, "price": "9.00"},
            {
                "sku": "TEE-L-B",
                "options": {"Size": "L", "Colour": "Blue"},
                "price": "20",
                "stock": 1,
            },
        ],
    }
    response = _send(staff_client, "put", f"/api/products/{tee['id']}", body)
    assert response.status_code == 200, response.json()
    variants = {v["sku"]: v for v in response.json()["variants"]}
    assert set(variants) == {"TEE-S-R", "TEE-L-B"}
    assert variants["TEE-S-R"]["id"] == s_red["id"]
    assert variants["TEE-S-R"]["price"] == "9.00"
    assert ProductVariant.all_objects.get(pk=m_red["id"]).deleted_at is not None


def test_put_without_a_variants_key_leaves_them_unchanged(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    before = staff_client.get(f"/api/products/{tee['id']}").json()["variants"]
    response = _send(
        staff_client, "put", f"/api/products/{tee['id']}", {"name": "Tee 2", "sku": "TEE"}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["variants"] == before
    assert response.json()["options"] == TEE["options"]


def test_put_removing_an_option_the_variants_use_is_a_422(
    staff_client: Client, tee: dict[str, Any]
) -> None:
    response = _send(
        staff_client,
        "put",
        f"/api/products/{tee['id']}",
        {"name": "Tee", "sku": "TEE", "options": [TEE["options"][0]]},
    )
    code, detail = _errors(response)
    assert code == 422
    assert "'Colour' cannot be removed" in detail
    assert response.json()["field"] == "options"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ([{"name": f"O{i}", "values": ["a"]} for i in range(4)], "at most 3"),
        ([{"name": "Size", "values": []}], "at least 1"),
        ([{"name": "Size", "values": [str(i) for i in range(101)]}], "at most 100"),
        ([{"name": "Size", "values": ["a"]}, {"name": "SIZE", "values": ["b"]}], "unique"),
        ([{"name": "Size", "values": ["m", "M"]}], "unique"),
    ],
)
def test_option_limits_are_422s(
    staff_client: Client, options: list[dict[str, Any]], words: str
) -> None:
    response = _send(
        staff_client,
        "post",
        "/api/products",
        {
            "name": "X",
            "sku": "X",
            "options": options,
            "variants": [{"sku": "X1", "price": "1", "stock": 1}],
        },
    )
    assert _errors(response)[0] == 422
    assert words in str(response.json())
    assert not Product.all_objects.exists()


def test_more_than_250_variants_is_a_422(staff_client: Client) -> None:
    values = [str(i) for i in range(100)]
    body = {
        "name": "X",
        "sku": "X",
        "options": [{"name": "A", "values": values}, {"name": "B", "values": values[:3]}],
        "variants": [
            {"sku": f"X{i}-{j}", "options": {"A": str(i), "B": str(j)}, "price": "1", "stock": 1}
            for i in range(84)
            for j in range(3)
        ],
    }
    assert _errors(_send(staff_client, "post", "/api/products", body))[0] == 422
    assert not Product.all_objects.exists()
