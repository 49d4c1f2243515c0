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

from datetime import timedelta
from typing import TYPE_CHECKING

from ninja_jwt import tokens as jwt_tokens

from nexus_shop.conf import conf

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = ["AccessToken", "RefreshToken", "token_pair_for"]


class AccessToken(jwt_tokens.AccessToken):  # type: ignore[misc]  # ninja-jwt is untyped (see pyproject)
    """A short-lived token for ``Authorization: Bearer``; lifetime ``conf.ACCESS_TOKEN_LIFETIME``."""

    @property  # type: ignore[override]  # a lazy property in place of ninja-jwt's frozen class attribute
    def lifetime(self) -> timedelta:
        return conf.ACCESS_TOKEN_LIFETIME


class RefreshToken(jwt_tokens.RefreshToken):  # type: ignore[misc]  # ninja-jwt is untyped (see pyproject)
    """A longer-lived token that buys new pairs; lifetime ``conf.REFRESH_TOKEN_LIFETIME``.

    :meth:`for_user` records an ``OutstandingToken`` (with its user) for every token it
    builds, which is what lets logout, rotation and password changes blacklist it.
    """

    access_token_class = AccessToken

    @property  # type: ignore[override]  # a lazy property in place of ninja-jwt's frozen class attribute
    def lifetime(self) -> timedelta:
        return conf.REFRESH_TOKEN_LIFETIME


def token_pair_for(user: AbstractBaseUser) -> tuple[str, str]:
    """``(access, refresh)``, encoded, for ``user``; the refresh token is recorded as outstanding."""
    refresh = RefreshToken.for_user(user)
    return str(refresh.access_token), str(refresh)
