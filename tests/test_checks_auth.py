"""System checks that guard the JWT setup: E012/W001 (signing key), E010, E011, E006/W002."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from nexus_shop.apps import MISSING_SIGNING_KEY_STAND_IN, _stand_in_signing_key
from nexus_shop.checks import check_jwt, check_jwt_deploy, check_throttle_cache
from tests.support import processes

# run_checks() runs the model checks too; on Django 6.1 JSONField's asks the database.
pytestmark = pytest.mark.django_db


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


@pytest.mark.parametrize(
    "key", ["", "   ", MISSING_SIGNING_KEY_STAND_IN], ids=["empty", "blank", "stand-in"]
)
def test_e012_when_the_signing_key_is_empty(key: str) -> None:
    with override_settings(NINJA_JWT={"SIGNING_KEY": key}):
        (error,) = check_jwt()
        assert error.id == "nexus_shop.E012"
        assert "NINJA_JWT['SIGNING_KEY']" in error.msg
        assert "JWT_SIGNING_KEY" in (error.hint or "")
        assert "nexus_shop.E012" in ids(run_checks())


def test_an_empty_key_is_replaced_by_a_random_one_never_used_to_sign_as_is() -> None:
    # An empty HMAC key would let anyone sign tokens: the stand-in replaces it at start-up.
    jwt = {"SIGNING_KEY": ""}
    with override_settings(NINJA_JWT=jwt):
        _stand_in_signing_key()
        assert jwt["SIGNING_KEY"] == MISSING_SIGNING_KEY_STAND_IN
        assert len(MISSING_SIGNING_KEY_STAND_IN) > 60


def test_a_none_key_is_a_check_error_not_a_pydantic_traceback(tmp_path: Path) -> None:
    # What ``os.environ.get("JWT_SIGNING_KEY")`` gives when the variable is unset. ninja-jwt
    # validates its settings when its models are imported, before any check could run.
    (tmp_path / "none_key_settings.py").write_text(
        'from tests.settings import *  # noqa: F403\nNINJA_JWT = {"SIGNING_KEY": None}\n'
    )
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "none_key_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)]),
    }
    result = processes.run(
        sys.executable, "-m", "django", "check", cwd=tmp_path, env=env, check=False
    )
    assert result.returncode == 1
    assert "(nexus_shop.E012) NINJA_JWT['SIGNING_KEY'] is None or empty" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pydantic" not in result.stderr


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
