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

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ninja_jwt import settings as jwt_settings
from ninja_jwt import tokens as jwt_tokens
from ninja_jwt.exceptions import TokenError

from nexus_shop.conf import conf

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = ["AccessToken", "RefreshToken", "refresh_token_subject", "token_pair_for"]


class _Setting:
    """A class attribute whose value is read from ``nexus_shop.conf`` on every access."""

    def __init__(self, read: Callable[[], timedelta]) -> None:
        self._read = read

    def __get__(self, instance: object, owner: type | None = None) -> timedelta:
        return self._read()

    def __set__(self, instance: object, value: timedelta) -> None:
        raise AttributeError("Token lifetimes come from settings (NINJA_JWT).")


class AccessToken(jwt_tokens.AccessToken):
    """A short-lived token for ``Authorization: Bearer``; ``conf.ACCESS_TOKEN_LIFETIME``."""

    lifetime = _Setting(lambda: conf.ACCESS_TOKEN_LIFETIME)


class RefreshToken(jwt_tokens.RefreshToken):
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
        super().verify()  # type: ignore[no-untyped-call]  # ninja-jwt leaves it unannotated


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
