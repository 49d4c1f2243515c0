"""The request-body examples Swagger UI's "Try it out" sends succeed on the demo catalogue.

They are read from the served OpenAPI schema, as Swagger UI reads them, and sent to a
database seeded the way ``nox -s demo`` seeds it (fresh ids, so ``category_id: 1`` exists).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.conftest import bearer
from tests.factories import StaffFactory


def examples() -> dict[str, dict[str, Any]]:
    schemas = Client().get("/api/openapi.json").json()["components"]["schemas"]
    return {name: schema["examples"][0] for name, schema in schemas.items() if "examples" in schema}


def test_every_request_body_has_an_example() -> None:
    assert {"CategoryIn", "CategoryPatch", "ProductIn", "ProductPatch", "RegisterIn",
            "TokenObtainIn"} <= set(examples())  # fmt: skip


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_examples_succeed_on_the_demo_catalogue() -> None:
    call_command("nexus_shop_seed", products=20, categories=5, seed=1, stdout=io.StringIO())
    staff = Client(headers=bearer(StaffFactory()))
    example = examples()

    category = staff.post("/api/categories", example["CategoryIn"], content_type="application/json")
    assert category.status_code == 201, category.json()
    patched = staff.patch(
        f"/api/categories/{category.json()['id']}",
        example["CategoryPatch"],
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.json()

    product = staff.post("/api/products", example["ProductIn"], content_type="application/json")
    assert product.status_code == 201, product.json()
    assert product.json()["category"]["id"] == 1
    patched = staff.patch(
        f"/api/products/{product.json()['id']}",
        example["ProductPatch"],
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.json()

    anon = Client()
    registered = anon.post(
        "/api/auth/register", example["RegisterIn"], content_type="application/json"
    )
    assert registered.status_code == 201, registered.json()
    # The token example names the demo account; its password is whatever demo_setup printed.
    login = example["TokenObtainIn"]
    get_user_model().objects.create_user(username=login["username"], password=login["password"])
    token = anon.post("/api/auth/token", login, content_type="application/json")
    assert token.status_code == 200, token.json()
