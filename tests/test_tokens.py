"""Promise 5: lifetimes come from settings (10 minutes / 7 days by default), read lazily."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.test import Client, override_settings
from ninja_jwt import tokens as ninja_jwt_tokens

from nexus_shop.tokens import AccessToken, RefreshToken, token_pair_for
from tests.conftest import bearer
from tests.factories import PASSWORD

KEY = settings.NINJA_JWT["SIGNING_KEY"]


def decode(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, KEY, algorithms=["HS256"])
    return claims


def lifetime(token: str) -> int:
    claims = decode(token)
    return int(claims["exp"]) - int(claims["iat"])


def _pair(client: Client, user: Any) -> dict[str, str]:
    response = client.post(
        "/api/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    pair: dict[str, str] = response.json()
    return pair


@pytest.mark.django_db
def test_default_lifetimes_are_ten_minutes_and_seven_days(anon: Client, customer: Any) -> None:
    assert "ACCESS_TOKEN_LIFETIME" not in settings.NINJA_JWT  # the defaults are under test
    pair = _pair(anon, customer)

    assert lifetime(pair["access"]) == 600
    assert lifetime(pair["refresh"]) == 7 * 86400
    assert decode(pair["access"])["token_type"] == "access"
    assert decode(pair["refresh"])["token_type"] == "refresh"
    assert decode(pair["access"])["user_id"] == customer.pk


def test_ninja_jwts_own_classes_would_have_frozen_other_defaults() -> None:
    """Why nexus_shop has its own classes: ninja-jwt's lifetimes are fixed at import time."""
    assert ninja_jwt_tokens.AccessToken.lifetime == timedelta(minutes=5)
    assert ninja_jwt_tokens.RefreshToken.lifetime == timedelta(days=1)
    assert AccessToken.lifetime == timedelta(minutes=10)
    assert RefreshToken.lifetime == timedelta(days=7)


@pytest.mark.django_db
def test_lifetimes_follow_settings_changed_at_runtime(anon: Client, customer: Any) -> None:
    jwt_settings = {
        **settings.NINJA_JWT,
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=2),
        "REFRESH_TOKEN_LIFETIME": timedelta(hours=3),
    }
    with override_settings(NINJA_JWT=jwt_settings):
        pair = _pair(anon, customer)
        rotated = anon.post(
            "/api/auth/token/refresh", {"refresh": pair["refresh"]}, content_type="application/json"
        ).json()

    for issued in (pair, rotated):
        assert lifetime(issued["access"]) == 120
        assert lifetime(issued["refresh"]) == 3 * 3600
    assert lifetime(_pair(anon, customer)["access"]) == 600  # back to the default


@pytest.mark.django_db
def test_an_expired_access_token_is_refused(anon: Client, customer: Any) -> None:
    jwt_settings = {**settings.NINJA_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(seconds=-1)}
    with override_settings(NINJA_JWT=jwt_settings):
        access = _pair(anon, customer)["access"]

    assert (
        anon.get("/api/auth/me", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    )


@pytest.mark.django_db
def test_an_expired_refresh_token_is_refused(anon: Client, customer: Any) -> None:
    jwt_settings = {**settings.NINJA_JWT, "REFRESH_TOKEN_LIFETIME": timedelta(seconds=-1)}
    with override_settings(NINJA_JWT=jwt_settings):
        refresh = _pair(anon, customer)["refresh"]

    response = anon.post(
        "/api/auth/token/refresh", {"refresh": refresh}, content_type="application/json"
    )
    assert response.status_code == 401


def test_lifetimes_cannot_be_assigned_on_a_token() -> None:
    token = AccessToken()
    with pytest.raises(AttributeError):
        token.lifetime = timedelta(days=365)


@pytest.mark.django_db
def test_the_pair_and_the_conftest_bearer_use_these_classes(customer: Any) -> None:
    access, refresh = token_pair_for(customer)
    assert lifetime(access) == 600
    assert lifetime(refresh) == 7 * 86400
    header = bearer(customer)["Authorization"]
    assert lifetime(header.removeprefix("Bearer ")) == 600
