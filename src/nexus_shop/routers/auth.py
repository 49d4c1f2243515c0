"""JWT authentication endpoints, mounted under ``/auth``.

Parse, throttle (an HTTP concern: it needs the client's address), make one call, return.
Errors are mapped to statuses in :mod:`nexus_shop.errors`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from nexus_shop import throttling
from nexus_shop.schemas.auth import (
    MeOut,
    PasswordChangeIn,
    RefreshIn,
    RegisterIn,
    TokenObtainIn,
    TokenPairOut,
    UserOut,
    VerifyIn,
    VerifyOut,
)
from nexus_shop.schemas.common import ErrorOut
from nexus_shop.security import write_auth
from nexus_shop.selectors import auth as selectors
from nexus_shop.services import auth as services
from nexus_shop.tokens import refresh_token_subject

router = Router(tags=["auth"])


def _ip(request: HttpRequest) -> tuple[str, str]:
    return ("ip", throttling.client_ip(request))


@router.post(
    "/register",
    response={
        201: UserOut,
        400: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    operation_id="auth_register",
    url_name="auth-register",
    summary="Create an account",
    description="422 when Django's password validators refuse the password (their messages "
    "in `detail`); 409 when the username or email is taken (case-insensitive); 404 when the "
    "host switched registration off (`NEXUS_SHOP_REGISTRATION_ENABLED = False`). Throttled "
    "per client IP and per username (429 with `Retry-After`).",
)
def register(request: HttpRequest, payload: RegisterIn) -> Any:
    throttling.check("register", [_ip(request), ("username", payload.username.casefold())])
    return Status(201, services.user_register(**payload.model_dump()))


@router.post(
    "/token",
    response={200: TokenPairOut, 400: ErrorOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    operation_id="auth_token_obtain",
    url_name="auth-token",
    summary="Log in: trade username and password for an access and a refresh token",
    description="One 401 message for a wrong password, an unknown user and an inactive "
    "user. Throttled per client IP (every attempt) and per username and client IP (failed "
    "attempts), 429 with `Retry-After`: failures from other addresses never lock a user out.",
)
def token_obtain(request: HttpRequest, payload: TokenObtainIn) -> Any:
    # Per IP, and per username *and* IP: a guesser elsewhere cannot lock the owner out.
    per_ip, failures = throttling.login_idents(request, payload.username)
    with throttling.login_counted():
        throttling.check("token", per_ip)
        throttling.check("login", failures)
        pair = services.token_obtain(**payload.model_dump())
    throttling.refund("login", failures)  # only failed attempts count
    return pair


@router.post(
    "/token/refresh",
    response={200: TokenPairOut, 400: ErrorOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    operation_id="auth_token_refresh",
    url_name="auth-token-refresh",
    summary="Trade a refresh token for a new pair (the refresh token rotates)",
    description="The refresh token sent is used up: sending it again answers 401. 401 too "
    "when its user was deactivated or deleted. Throttled per client IP, per token and per "
    "user (429 with `Retry-After`).",
)
def token_refresh(request: HttpRequest, payload: RefreshIn) -> Any:
    idents = [_ip(request), ("token", payload.refresh)]
    # Per user too, but only for a token whose signature checks out: a user id read from a
    # forged token would let anyone spend another user's budget.
    subject = refresh_token_subject(refresh=payload.refresh)
    if subject is not None:
        idents.append(("user", subject))
    throttling.check("refresh", idents)
    return services.token_refresh(refresh=payload.refresh)


@router.post(
    "/token/verify",
    response={200: VerifyOut, 400: ErrorOut, 401: ErrorOut, 422: ErrorOut},
    operation_id="auth_token_verify",
    url_name="auth-token-verify",
    summary="Is this access or refresh token valid right now?",
    description="200 with an empty object, or 401. A used or revoked refresh token, or a "
    "token of a deactivated user, is not valid.",
)
def token_verify(request: HttpRequest, payload: VerifyIn) -> Any:
    services.token_verify(token=payload.token)
    return {}


@router.post(
    "/logout",
    response={204: None, 400: ErrorOut, 401: ErrorOut, 422: ErrorOut},
    operation_id="auth_logout",
    url_name="auth-logout",
    summary="Log out: revoke a refresh token",
    description="The refresh token is blacklisted. Access tokens already issued expire on "
    "their own (`ACCESS_TOKEN_LIFETIME`, 10 minutes by default).",
)
def logout(request: HttpRequest, payload: RefreshIn) -> Any:
    services.token_blacklist(refresh=payload.refresh)
    return Status(204, None)


@router.get(
    "/me",
    auth=write_auth,
    response={200: MeOut, 401: ErrorOut},
    operation_id="auth_me",
    url_name="auth-me",
    summary="The authenticated user",
    description="`permissions` lists Django permissions as `app_label.codename`.",
)
def me(request: HttpRequest) -> Any:
    return selectors.user_me(user=request.auth)  # type: ignore[attr-defined]  # set by ninja's auth


@router.post(
    "/password",
    auth=write_auth,
    response={204: None, 400: ErrorOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    operation_id="auth_password_change",
    url_name="auth-password-change",
    summary="Change the password; every refresh token issued so far stops working",
    description="422 when `old_password` is wrong or Django's validators refuse "
    "`new_password`. Log in again afterwards for a new pair. Shares the `token` throttle "
    "(per client IP and per username): a wrong old password is a password guess.",
)
def password_change(request: HttpRequest, payload: PasswordChangeIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]  # set by ninja's auth
    throttling.check("token", [_ip(request), ("username", user.get_username().casefold())])
    services.password_change(user=user, **payload.model_dump())
    return Status(204, None)
