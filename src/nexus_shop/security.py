"""How catalogue writes authenticate and authorise.

Authentication is pluggable: ``NEXUS_SHOP_AUTH`` names ninja auth classes (or callables)
by dotted path; JWT (:class:`JWTAuth`: ninja-jwt's, claims checked) is the default. Each must
return the user or ``None``, and may raise ninja-jwt's ``AuthenticationFailed``,
``InvalidToken`` or ``TokenError`` (a 401) or ``ninja.errors.AuthenticationError`` (a
401 through the API's handler). Any other exception is a bug in the authenticator and is
not turned into a 401. Authorisation is Django's model permissions.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.module_loading import import_string
from ninja.security.base import AuthBase
from ninja_jwt import authentication as jwt_authentication
from ninja_jwt.exceptions import InvalidToken, TokenError

from nexus_shop.conf import conf
from nexus_shop.exceptions import AuthenticationFailed, PermissionDenied
from nexus_shop.tokens import UntypedToken, check_claims


@cache
def _load(paths: tuple[str, ...]) -> tuple[Any, ...]:
    loaded = []
    for path in paths:
        obj = import_string(path)
        loaded.append(obj() if isinstance(obj, type) else obj)
    return tuple(loaded)


def configured_authenticators() -> tuple[Any, ...]:
    return _load(conf.AUTH)


def _token_errors(authenticator: object) -> tuple[type[BaseException], ...]:
    """What ``authenticator`` is documented to raise for bad credentials (-> 401).

    Anything else it raises is a bug in it and propagates (a 500 with a traceback), not a
    401 that would hide it.
    """
    from ninja_jwt.authentication import JWTBaseAuthentication
    from ninja_jwt.exceptions import AuthenticationFailed as JWTAuthFailed
    from ninja_jwt.exceptions import InvalidToken, TokenError

    errors: tuple[type[BaseException], ...] = (JWTAuthFailed, InvalidToken, TokenError)
    if isinstance(authenticator, JWTBaseAuthentication):
        from django.core.exceptions import ValidationError as DjangoValidationError

        # ninja-jwt looks the user up with the token's user_id as is: a signed token whose
        # user_id is not a valid primary key ("abc", [1]) raises these there.
        errors += (ValueError, TypeError, DjangoValidationError)
    return errors


class ConfiguredAuth(AuthBase):
    """Delegates to the authenticators named by ``NEXUS_SHOP_AUTH``, read at request time.

    With ``optional=True`` a request without credentials passes as ``AnonymousUser``
    (public reads, where staff see more); credentials that are present but invalid are
    still a 401. OpenAPI shows it as an HTTP bearer scheme, which is what Swagger UI's
    "Authorize" button needs for JWT.
    """

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_bearerFormat = "JWT"  # noqa: N815  (OpenAPI's spelling)

    def __init__(self, *, optional: bool = False) -> None:
        super().__init__()
        self.optional = optional

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        for authenticator in configured_authenticators():
            try:
                user = authenticator(request)
            except _token_errors(authenticator) as exc:
                raise AuthenticationFailed("Given token is not valid.") from exc
            if user:
                request.user = user
                return user
        if header is not None and header.strip():
            raise AuthenticationFailed("Given token is not valid.")
        if self.optional:
            return AnonymousUser()
        return None


class JWTAuth(jwt_authentication.JWTAuth):
    """ninja-jwt's ``JWTAuth``, refusing correctly signed tokens with malformed claims.

    ninja-jwt trusts the claims of a token whose signature checks out: an ``exp`` of
    ``1e20`` overflowed its date conversion (a 500), and a ``user_id`` of ``true`` or
    ``1.0`` was looked up as user 1. This class checks the claims first
    (:func:`nexus_shop.tokens.check_claims`): any claim of the wrong type or range is a 401.
    """

    @classmethod
    def get_validated_token(cls, raw_token: Any) -> Any:
        try:
            check_claims(UntypedToken(raw_token).payload)
        except TokenError as error:
            raise InvalidToken(str(error)) from error
        return super().get_validated_token(raw_token)


write_auth = ConfiguredAuth()
read_auth = ConfiguredAuth(optional=True)


def require_perm(request: HttpRequest, perm: str) -> None:
    """403 unless the authenticated user holds ``perm`` (e.g. ``"nexus_shop.add_product"``)."""
    user = getattr(request, "auth", None)
    if user is None or not getattr(user, "is_authenticated", False):
        raise AuthenticationFailed()
    if not user.has_perm(perm):
        raise PermissionDenied(f"You need the {perm!r} permission.")
