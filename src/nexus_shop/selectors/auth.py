"""Reads about users and their tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission


def auth_tables() -> set[str]:
    """Tables holding users, their permissions and their token state."""
    user = get_user_model()
    tables = {user._meta.db_table, Permission._meta.db_table, Group._meta.db_table}
    for model in (user, Group):
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            if through is not None:
                tables.add(through._meta.db_table)
    if apps.is_installed("ninja_jwt.token_blacklist"):
        for name in ("OutstandingToken", "BlacklistedToken"):
            tables.add(apps.get_model("token_blacklist", name)._meta.db_table)
    return tables


@dataclass(frozen=True)
class Me:
    id: int
    username: str
    email: str
    is_staff: bool
    permissions: list[str]


def user_me(*, user: AbstractBaseUser) -> Me:
    """The authenticated user as ``GET /auth/me`` shows it: permissions as ``"app.codename"``."""
    return Me(
        id=user.pk,
        username=user.get_username(),
        email=getattr(user, "email", "") or "",
        is_staff=bool(getattr(user, "is_staff", False)),
        permissions=sorted(user.get_all_permissions()),  # type: ignore[attr-defined]  # PermissionsMixin's
    )


def refresh_token_subject(*, refresh: str) -> str | None:
    """The user id a refresh token was issued to, if its signature and expiry check out.

    Only the signature is trusted here (no database): enough to count attempts per user
    without letting a forged token spend someone else's budget. ``None`` for anything else.
    """
    from ninja_jwt import settings as jwt_settings
    from ninja_jwt.exceptions import TokenBackendError
    from ninja_jwt.state import token_backend

    from nexus_shop.tokens import RefreshToken

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
