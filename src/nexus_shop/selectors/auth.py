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
