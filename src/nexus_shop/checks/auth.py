"""Checks of the JWT setup: the blacklist app, the algorithm, the signing key, the auth class."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Tags, register

from nexus_shop.apps import MISSING_SIGNING_KEY_STAND_IN
from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import conf

_UNCHECKED_JWT_AUTH = {
    "ninja_jwt.authentication.JWTAuth",
    "ninja_jwt.authentication.AsyncJWTAuth",
}
_ALGORITHMS = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}


@register(Tags.security)
def check_jwt(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    jwt = conf.NINJA_JWT
    if not apps.is_installed("ninja_jwt.token_blacklist"):
        errors.append(
            CheckId.TOKEN_BLACKLIST.message(
                "'ninja_jwt.token_blacklist' is not in INSTALLED_APPS.",
                hint="nexus_shop rotates refresh tokens and blacklists the old ones; "
                "add the app and migrate.",
            )
        )
    if "SIGNING_KEY" in jwt:
        key = jwt["SIGNING_KEY"]
        if key == MISSING_SIGNING_KEY_STAND_IN or not isinstance(key, str) or not key.strip():
            errors.append(
                CheckId.JWT_SIGNING_KEY.message(
                    "NINJA_JWT['SIGNING_KEY'] is None or empty: the JWT signing key is not set.",
                    hint="Give it a long random string of its own (not SECRET_KEY), e.g. "
                    'NINJA_JWT = {"SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY")} '
                    "with the environment variable JWT_SIGNING_KEY set to the output of "
                    'python -c "import secrets; print(secrets.token_urlsafe(50))".',
                )
            )
    algorithm = jwt.get("ALGORITHM", "HS256")
    if algorithm not in _ALGORITHMS:
        errors.append(
            CheckId.JWT_ALGORITHM.message(
                f"NINJA_JWT['ALGORITHM'] = {algorithm!r} is not an allowed signing algorithm.",
                hint=f"Pin one of {sorted(_ALGORITHMS)}.",
            )
        )
    for path in conf.AUTH:
        if path in _UNCHECKED_JWT_AUTH:
            errors.append(
                CheckId.UNCHECKED_JWT_AUTH.message(
                    f"NEXUS_SHOP_AUTH names {path!r}, which trusts a signed token's claims: "
                    "a user_id of true or 1.0 is looked up as user 1, an exp of 1e20 is a 500.",
                    hint="Use 'nexus_shop.security.JWTAuth' (the same, with the claims checked).",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_jwt_deploy(**kwargs: Any) -> list[CheckMessage]:
    jwt = conf.NINJA_JWT
    key = jwt.get("SIGNING_KEY")
    if not key or key == settings.SECRET_KEY:
        return [
            CheckId.JWT_SHARED_KEY.message(
                "NINJA_JWT['SIGNING_KEY'] is unset or equal to SECRET_KEY.",
                hint="Give JWTs their own signing key, so rotating one secret does not "
                "rotate (or leak) the other.",
            )
        ]
    return []
