"""Promise 8: catalogue writes take whatever auth ``NEXUS_SHOP_AUTH`` names.

``ApiKeyAuth`` below is a test-only authenticator: ``X-API-Key: key-<username>``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.test import Client, override_settings
from ninja.security import APIKeyHeader

from tests.conftest import bearer
from tests.factories import StaffFactory, UserFactory

API_KEY_AUTH = "tests.routers.test_auth_pluggable.ApiKeyAuth"
PRODUCT = {"name": "Lamp", "sku": "LAMP-1", "price": "9.99", "stock": 1}


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key or not key.startswith("key-"):
            return None
        return get_user_model().objects.filter(username=key[4:], is_active=True).first()


def api_key(user: Any) -> dict[str, str]:
    return {"X-API-Key": f"key-{user.username}"}


def create(headers: dict[str, str], sku: str = "LAMP-1") -> Any:
    return Client().post(
        "/api/products", {**PRODUCT, "sku": sku}, content_type="application/json", headers=headers
    )


@pytest.mark.django_db
def test_by_default_writes_take_jwt_and_not_the_api_key() -> None:
    staff = StaffFactory()
    assert create(bearer(staff)).status_code == 201
    assert create(api_key(staff), sku="LAMP-2").status_code == 401


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_AUTH=[API_KEY_AUTH])
def test_swapped_auth_accepts_the_api_key_and_rejects_jwt() -> None:
    staff = StaffFactory()
    customer = UserFactory()

    assert create(api_key(staff)).status_code == 201
    assert create(bearer(staff), sku="LAMP-2").status_code == 401  # a JWT is no credential now
    assert create({}, sku="LAMP-3").status_code == 401
    assert create({"X-API-Key": "key-nobody"}, sku="LAMP-4").status_code == 401
    assert create(api_key(customer), sku="LAMP-5").status_code == 403  # authenticated, no perm


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_AUTH=[API_KEY_AUTH, "nexus_shop.security.JWTAuth"])
def test_several_authenticators_each_work() -> None:
    staff = StaffFactory()

    assert create(api_key(staff)).status_code == 201
    assert create(bearer(staff), sku="LAMP-2").status_code == 201


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_AUTH=API_KEY_AUTH)
def test_auth_me_follows_the_setting_too() -> None:
    staff = StaffFactory()
    response = Client().get("/api/auth/me", headers=api_key(staff))

    assert response.status_code == 200
    assert response.json()["username"] == staff.username


class BuggyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        raise ValueError("a bug in the host's authenticator")


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_AUTH=["tests.routers.test_auth_pluggable.BuggyAuth"])
def test_a_bug_in_a_host_authenticator_is_not_hidden_behind_a_401() -> None:
    # Only what an authenticator is documented to raise becomes a 401; this propagates.
    with pytest.raises(ValueError, match="a bug in the host's authenticator"):
        create({"X-API-Key": "key-anyone"})
