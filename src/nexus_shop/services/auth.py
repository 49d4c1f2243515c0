"""Accounts and tokens. Keyword-only, typed, transactional; no HTTP in here.

Refresh tokens are single-use: every one this module issues is recorded as an
``OutstandingToken`` (with its user), and using one (refresh or logout) inserts its
``BlacklistedToken`` row. ``BlacklistedToken.token`` is a one-to-one field, so that insert
is the atomic "use once" step: of any number of concurrent refreshes with the same token,
the database lets exactly one insert succeed and the others get an ``IntegrityError``,
which is answered as an invalid token. (ninja-jwt's ``BlacklistMixin.blacklist`` uses
``get_or_create``, which lets every racer "succeed".)

A refresh token this module has no ``OutstandingToken`` row for is refused: every token
nexus_shop issues has one, and a token without one could not be revoked by a password
change.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from ninja_jwt import settings as jwt_settings
from ninja_jwt.exceptions import TokenError
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from nexus_shop.conf import conf
from nexus_shop.exceptions import (
    AuthenticationFailed,
    Conflict,
    FeatureDisabled,
    ValidationFailed,
)
from nexus_shop.services.locks import advisory_lock
from nexus_shop.tokens import AccessToken, RefreshToken, UntypedToken, token_pair_for

__all__ = [
    "BAD_CREDENTIALS",
    "INVALID_TOKEN",
    "TokenPair",
    "password_change",
    "token_blacklist",
    "token_obtain",
    "token_refresh",
    "token_verify",
    "user_register",
]

BAD_CREDENTIALS = "No active account found with the given credentials."
INVALID_TOKEN = "Token is invalid or expired."  # noqa: S105  (a message, not a secret)


@dataclass(frozen=True)
class TokenPair:  # not a NamedTuple: ninja reads a returned tuple as (status, body)
    access: str
    refresh: str


def _jwt_settings() -> Any:
    # ninja-jwt rebinds ``api_settings`` when NINJA_JWT changes; read it on each use.
    return jwt_settings.api_settings


# Accounts -------------------------------------------------------------------------------------


def _password_errors(password: str, *, user: AbstractBaseUser, field: str) -> None:
    try:
        # Any user model works at runtime: the validators read attributes by name.
        validate_password(password, user=user)  # type: ignore[arg-type]  # stubs want User
    except DjangoValidationError as error:
        raise ValidationFailed(" ".join(error.messages), extra={"field": field}) from None


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> AbstractBaseUser:
    """Create an active, unprivileged user.

    Raises ``FeatureDisabled`` when ``NEXUS_SHOP_REGISTRATION_ENABLED`` is off,
    ``ValidationFailed`` when Django's password validators refuse ``password`` and
    ``Conflict`` when the username or the email is taken, compared case-insensitively.
    """
    if not conf.REGISTRATION_ENABLED:
        raise FeatureDisabled("Registration is closed.")
    user_model = get_user_model()
    # As AbstractUser.clean() does (NFKC), so fullwidth "root" is "root"; then compared
    # case-insensitively below. The email too: its domain may be written in fullwidth.
    username = user_model.normalize_username(username)
    email = user_model.objects.normalize_email(unicodedata.normalize("NFKC", email))
    user = user_model(**{user_model.USERNAME_FIELD: username, "email": email})
    _password_errors(password, user=user, field="password")
    advisory_lock(f"username:{username.casefold()}", f"email:{email.casefold()}")
    manager = user_model._default_manager
    if manager.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
        raise Conflict("A user with that username already exists.", extra={"field": "username"})
    if manager.filter(email__iexact=email).exists():
        raise Conflict("A user with that email already exists.", extra={"field": "email"})
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(
            "A user with that username already exists.", extra={"field": "username"}
        ) from None
    return user


@transaction.atomic
def password_change(*, user: AbstractBaseUser, old_password: str, new_password: str) -> None:
    """Set a new password and blacklist every refresh token the user holds.

    Access tokens already issued stay valid until they expire (``ACCESS_TOKEN_LIFETIME``);
    keep that short. Raises ``ValidationFailed`` for a wrong ``old_password`` or a
    ``new_password`` that Django's validators refuse.
    """
    locked = get_user_model()._default_manager.select_for_update().get(pk=user.pk)
    if not locked.check_password(old_password):
        raise ValidationFailed("The old password is not correct.", extra={"field": "old_password"})
    _password_errors(new_password, user=locked, field="new_password")
    locked.set_password(new_password)
    locked.save(update_fields=["password"])
    user_tokens_blacklist(user=locked)


@transaction.atomic
def user_tokens_blacklist(*, user: AbstractBaseUser) -> int:
    """Blacklist every unexpired refresh token of ``user``; returns how many were added."""
    pending = OutstandingToken.objects.filter(
        user_id=user.pk, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    ).values_list("pk", flat=True)
    rows = [BlacklistedToken(token_id=pk) for pk in pending]
    # ignore_conflicts: a concurrent refresh or logout may blacklist one of them first.
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# Tokens ---------------------------------------------------------------------------------------


def _issue(user: AbstractBaseUser) -> TokenPair:
    access, refresh = token_pair_for(user)  # records the OutstandingToken, with the user
    return TokenPair(access=access, refresh=refresh)


def _active_user(token: Any) -> AbstractBaseUser:
    """The token's user, if it still exists and is active."""
    settings = _jwt_settings()
    user_id = token.payload.get(settings.USER_ID_CLAIM)
    # ninja-jwt writes ints or strings; a float or a bool would be coerced to some other pk.
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        raise AuthenticationFailed(INVALID_TOKEN)
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(**{settings.USER_ID_FIELD: user_id})
    except (user_model.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise AuthenticationFailed(INVALID_TOKEN) from None
    if not user.is_active:
        raise AuthenticationFailed(INVALID_TOKEN)
    return user


def _decode_refresh(raw: str) -> Any:
    try:
        return RefreshToken(raw)  # signature, alg, exp, jti, type "refresh", not blacklisted
    except TokenError:
        raise AuthenticationFailed(INVALID_TOKEN) from None


def _use_once(token: Any) -> None:
    """Blacklist ``token`` atomically; ``AuthenticationFailed`` if already used or unknown."""
    jti = token.payload.get(_jwt_settings().JTI_CLAIM)
    outstanding = OutstandingToken.objects.filter(jti=jti).only("pk").first()
    if outstanding is None:
        raise AuthenticationFailed(INVALID_TOKEN)
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        raise AuthenticationFailed(INVALID_TOKEN) from None


@transaction.atomic
def token_obtain(*, username: str, password: str) -> TokenPair:
    """A new pair for valid credentials of an active user.

    One message for a wrong password, an unknown user and an inactive user, so the answer
    does not tell which accounts exist. (Django's ``ModelBackend`` also runs the password
    hasher for unknown users, so timing does not tell either.)
    """
    # NFKC, as registration stored it (and as Django's login form does).
    username = get_user_model().normalize_username(username)
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise AuthenticationFailed(BAD_CREDENTIALS)
    if _jwt_settings().UPDATE_LAST_LOGIN:
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
    return _issue(user)


@transaction.atomic
def token_refresh(*, refresh: str) -> TokenPair:
    """Trade a refresh token for a new pair. The old refresh token is used up (blacklisted).

    ``AuthenticationFailed`` when the token is invalid, expired, already used or unknown,
    or when its user was deleted or deactivated.
    """
    token = _decode_refresh(refresh)
    user = _active_user(token)
    _use_once(token)
    return _issue(user)


@transaction.atomic
def token_blacklist(*, refresh: str) -> None:
    """Log out: use up ``refresh`` without issuing anything. ``AuthenticationFailed`` if invalid."""
    _use_once(_decode_refresh(refresh))


def token_verify(*, token: str) -> None:
    """``AuthenticationFailed`` unless ``token`` is a valid access or refresh token right now.

    Valid means: signature, algorithm and ``exp`` check out, its user exists and is active
    and, for a refresh token, it has not been used or revoked.
    """
    try:
        untyped = UntypedToken(token)
    except TokenError:
        raise AuthenticationFailed(INVALID_TOKEN) from None
    token_type = untyped.payload.get(_jwt_settings().TOKEN_TYPE_CLAIM)
    decoded: Any
    try:
        if token_type == AccessToken.token_type:
            decoded = AccessToken(token)
        elif token_type == RefreshToken.token_type:
            decoded = RefreshToken(token)
            jti = decoded.payload.get(_jwt_settings().JTI_CLAIM)
            if not OutstandingToken.objects.filter(jti=jti).exists():
                raise AuthenticationFailed(INVALID_TOKEN)
        else:
            raise AuthenticationFailed(INVALID_TOKEN)
    except TokenError:
        raise AuthenticationFailed(INVALID_TOKEN) from None
    _active_user(decoded)
