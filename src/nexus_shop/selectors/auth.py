"""Reads about users."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser


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
