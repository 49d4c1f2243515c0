"""nexus_shop's JWT classes: ninja-jwt's, with lifetimes read from settings on use.

ninja-jwt's ``AccessToken`` and ``RefreshToken`` copy ``lifetime`` from its settings when
``ninja_jwt.tokens`` is imported, with ninja-jwt's own defaults (5 minutes / 1 day). These
subclasses read :attr:`nexus_shop.conf.Settings.ACCESS_TOKEN_LIFETIME` and
:attr:`~nexus_shop.conf.Settings.REFRESH_TOKEN_LIFETIME` each time a token is built, so
nexus_shop's defaults (10 minutes / 7 days) apply and ``override_settings`` works.

Verification is unchanged: signature, algorithm (pinned to ``NINJA_JWT["ALGORITHM"]``),
``exp``, ``jti`` and the ``token_type`` claim, so a refresh token is never accepted as an
access token and the reverse. Encoded tokens from ninja-jwt's classes and from these are
interchangeable: ``ninja_jwt.authentication.JWTAuth`` verifies access tokens built here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ninja_jwt import settings as jwt_settings
from ninja_jwt import tokens as jwt_tokens
from ninja_jwt.exceptions import TokenError

from nexus_shop.conf import conf

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "AccessToken",
    "RefreshToken",
    "UntypedToken",
    "check_claims",
    "refresh_token_subject",
    "token_pair_for",
]

# 9999-12-31T23:59:59Z: the last instant ``datetime`` can hold. A time claim past it
# overflowed ninja-jwt's conversion (an OverflowError, a 500) although the signature was good.
MAX_TIMESTAMP = 253_402_300_799


def _is_timestamp(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value <= MAX_TIMESTAMP  # False for NaN too


def check_claims(payload: Mapping[str, Any]) -> None:
    """``TokenError`` unless the claims ninja-jwt reads have the types and ranges it assumes.

    The signature only proves who signed a token, not that its claims are well-formed:
    ``exp``/``iat``/``nbf`` must be numbers within ``datetime``'s range (not strings or
    booleans), the user id an integer or a string (``true`` or ``1.0`` would be looked up as
    user 1), and the token id and type strings.
    """
    settings = jwt_settings.api_settings
    for time_claim in ("exp", "iat", "nbf"):
        if time_claim in payload and not _is_timestamp(payload[time_claim]):
            raise TokenError(f"Token has an invalid '{time_claim}' claim")
    user_id = payload.get(settings.USER_ID_CLAIM)
    if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int | str)):
        raise TokenError("Token has an invalid user id")
    text_claims: tuple[str | None, ...] = (settings.JTI_CLAIM, settings.TOKEN_TYPE_CLAIM)
    for claim in text_claims:
        if claim is not None and claim in payload and not isinstance(payload[claim], str):
            raise TokenError(f"Token has an invalid '{claim}' claim")


class _StrictClaims:
    """Checks :func:`check_claims` before ninja-jwt's own verification reads the claims."""

    payload: dict[str, Any]

    def verify(self) -> None:
        check_claims(self.payload)
        super().verify()  # type: ignore[misc]  # ninja-jwt's Token.verify, unannotated


class _Setting:
    """A class attribute whose value is read from ``nexus_shop.conf`` on every access."""

    def __init__(self, read: Callable[[], timedelta]) -> None:
        self._read = read

    def __get__(self, instance: object, owner: type | None = None) -> timedelta:
        return self._read()

    def __set__(self, instance: object, value: timedelta) -> None:
        raise AttributeError("Token lifetimes come from settings (NINJA_JWT).")


class UntypedToken(_StrictClaims, jwt_tokens.UntypedToken):
    """A token of either type, its signature and claims checked (``/auth/token/verify``)."""


class AccessToken(_StrictClaims, jwt_tokens.AccessToken):
    """A short-lived token for ``Authorization: Bearer``; ``conf.ACCESS_TOKEN_LIFETIME``."""

    lifetime = _Setting(lambda: conf.ACCESS_TOKEN_LIFETIME)


class RefreshToken(_StrictClaims, jwt_tokens.RefreshToken):
    """A longer-lived token that buys new pairs; lifetime ``conf.REFRESH_TOKEN_LIFETIME``.

    :meth:`for_user` records an ``OutstandingToken`` (with its user) for every token it
    builds, which is what lets logout, rotation and password changes blacklist it.
    """

    access_token_class = AccessToken
    lifetime = _Setting(lambda: conf.REFRESH_TOKEN_LIFETIME)

    def verify(self) -> None:
        # ninja-jwt's blacklist check reads ``payload["jti"]`` before anything checks that
        # it exists: a signed token without one would be a KeyError (a 500), not a 401.
        jti_claim = jwt_settings.api_settings.JTI_CLAIM
        if jti_claim is not None and jti_claim not in self.payload:
            raise TokenError("Token has no id")
        super().verify()


def token_pair_for(user: AbstractBaseUser) -> tuple[str, str]:
    """``(access, refresh)``, encoded, for ``user``; records the refresh token as outstanding."""
    refresh: Any = RefreshToken.for_user(user)  # type: ignore[misc]  # ninja-jwt types ``cls`` as an instance
    return str(refresh.access_token), str(refresh)


def refresh_token_subject(*, refresh: str) -> str | None:
    """The user id a refresh token was issued to, if its signature and expiry check out.

    Only the signature is trusted here (no database): enough to count attempts per user
    without letting a forged token spend someone else's budget. ``None`` for anything else.
    """
    from ninja_jwt import settings as jwt_settings
    from ninja_jwt.exceptions import TokenBackendError
    from ninja_jwt.state import token_backend

    try:
        payload = token_backend.decode(refresh, verify=True)  # signature, algorithm, exp
    except TokenBackendError:
        return None
    claims = jwt_settings.api_settings
    if payload.get(claims.TOKEN_TYPE_CLAIM or "token_type") != RefreshToken.token_type:
        return None
    subject = payload.get(claims.USER_ID_CLAIM)
    if isinstance(subject, bool) or not isinstance(subject, int | str):
        return None
    return str(subject)
