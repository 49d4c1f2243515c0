"""System checks that guard the JWT setup: W001 (signing key), E010, E011, E006/W002."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from nexus_shop.checks import check_jwt, check_jwt_deploy, check_throttle_cache


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_the_test_settings_pass() -> None:
    assert check_jwt() == []
    assert check_jwt_deploy() == []
    assert check_throttle_cache() == []


@pytest.mark.parametrize(
    "jwt_settings",
    [
        {"ALGORITHM": "HS256"},
        {"ALGORITHM": "HS256", "SIGNING_KEY": ""},
        {"ALGORITHM": "HS256", "SIGNING_KEY": "tests-only-secret-key-not-for-production"},
    ],
    ids=["unset", "empty", "equal-to-secret-key"],
)
def test_w001_when_the_signing_key_is_not_its_own(jwt_settings: dict[str, Any]) -> None:
    with override_settings(NINJA_JWT=jwt_settings):
        assert ids(check_jwt_deploy()) == ["nexus_shop.W001"]
        deploy = run_checks(include_deployment_checks=True)
        plain = run_checks()
    assert "nexus_shop.W001" in ids(deploy)
    assert "nexus_shop.W001" not in ids(plain)  # a deploy check: silent in development


def test_no_w001_with_a_key_of_its_own() -> None:
    with override_settings(NINJA_JWT={"SIGNING_KEY": "a-different-key-" + "x" * 40}):
        assert check_jwt_deploy() == []


@pytest.mark.parametrize("algorithm", ["none", "None", "", "HS1", "PS256"])
def test_e011_when_the_algorithm_is_not_pinned_to_an_allowed_one(algorithm: str) -> None:
    with override_settings(NINJA_JWT={"SIGNING_KEY": "k" * 40, "ALGORITHM": algorithm}):
        assert ids(check_jwt()) == ["nexus_shop.E011"]
        assert "nexus_shop.E011" in ids(run_checks())


@pytest.mark.parametrize("algorithm", ["HS256", "HS512", "RS256", "ES256"])
def test_allowed_algorithms_pass(algorithm: str) -> None:
    with override_settings(NINJA_JWT={"SIGNING_KEY": "k" * 40, "ALGORITHM": algorithm}):
        assert check_jwt() == []


def test_e010_without_the_blacklist_app(settings: Any) -> None:
    settings.INSTALLED_APPS = [
        a for a in settings.INSTALLED_APPS if a != "ninja_jwt.token_blacklist"
    ]
    assert ids(check_jwt()) == ["nexus_shop.E010"]


def test_e006_when_the_throttle_cache_alias_is_unknown(settings: Any) -> None:
    settings.NEXUS_SHOP_THROTTLE_CACHE = "no-such-cache"
    assert ids(check_throttle_cache()) == ["nexus_shop.E006"]
    assert "nexus_shop.E006" in ids(run_checks())


def test_w002_when_the_throttle_cache_is_a_dummy(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.NEXUS_SHOP_THROTTLE_CACHE = "dummy"
    assert ids(check_throttle_cache()) == ["nexus_shop.W002"]


@pytest.mark.parametrize(
    "auth",
    [
        "ninja_jwt.authentication.JWTAuth",
        ["myproject.ApiKeyAuth", "ninja_jwt.authentication.AsyncJWTAuth"],
    ],
)
def test_w030_when_ninja_jwts_own_jwtauth_is_named(settings: Any, auth: Any) -> None:
    settings.NEXUS_SHOP_AUTH = auth
    assert ids(check_jwt()) == ["nexus_shop.W030"]


def test_no_w030_for_the_default_authenticator(settings: Any) -> None:
    settings.NEXUS_SHOP_AUTH = "nexus_shop.security.JWTAuth"
    assert check_jwt() == []
