"""The ready-made API: ``path("api/", nexus_shop.api.api.urls)``.

Also the pieces to build your own: :func:`create_api` and :func:`register_exception_handlers`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

import nexus_shop
from nexus_shop import exceptions as exc
from nexus_shop.swagger import ASSET_URL_NAME, OfflineSwagger, asset_view

logger = logging.getLogger("nexus_shop.api")

STATUS_BY_ERROR: dict[type[exc.NexusShopError], int] = {
    exc.ValidationFailed: 422,
    exc.AuthenticationFailed: 401,
    exc.PermissionDenied: 403,
    exc.NotFound: 404,
    exc.FeatureDisabled: 404,
    exc.Conflict: 409,
    exc.Throttled: 429,
}


def _status_for(error: exc.NexusShopError) -> int:
    for klass in type(error).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 400


def register_exception_handlers(api: NinjaAPI) -> None:
    """Map nexus_shop's domain errors (and a few Django ones) to JSON answers on ``api``."""

    def domain_error(request: HttpRequest, error: exc.NexusShopError) -> HttpResponse:
        status = _status_for(error)
        body: dict[str, Any] = {"detail": error.message}
        if "field" in error.extra:
            body["field"] = error.extra["field"]
        response = api.create_response(request, body, status=status)
        if isinstance(error, exc.Throttled):
            response["Retry-After"] = str(error.retry_after)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    def too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
        return api.create_response(request, {"detail": "Request body is too large."}, status=413)

    def api_exception(request: HttpRequest, error: Any) -> HttpResponse:
        # ninja-extra's APIException family (raised by ninja-jwt): keep its status code.
        detail = getattr(error, "detail", str(error))
        if not isinstance(detail, str | list | dict):
            detail = str(detail)
        return api.create_response(
            request, {"detail": detail}, status=getattr(error, "status_code", 400)
        )

    def no_credentials(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        # ninja raises this when no authenticator accepted the request: say it the same way
        # as a refused token (JSON detail and a WWW-Authenticate challenge).
        return domain_error(
            request, exc.AuthenticationFailed("Authentication credentials were not provided.")
        )

    # ninja types a handler's error as "E | type[E]"; ours take the instance it really passes.
    api.add_exception_handler(exc.NexusShopError, domain_error)  # type: ignore[arg-type]
    api.add_exception_handler(AuthenticationError, no_credentials)  # type: ignore[arg-type]
    api.add_exception_handler(RequestDataTooBig, too_big)  # type: ignore[arg-type]
    try:
        from ninja_extra.exceptions import APIException
    except ImportError:  # pragma: no cover  (ninja-jwt always brings ninja-extra)
        return
    api.add_exception_handler(APIException, api_exception)


def _json_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            json_response = HttpResponse(
                b'{"detail": "Method not allowed."}',
                status=405,
                content_type="application/json",
            )
            json_response["Allow"] = allowed
            return json_response
        return response

    return wrapper


class NexusShopAPI(NinjaAPI):
    """A ``NinjaAPI`` that never answers HTML: unknown paths and wrong methods get JSON too."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":
                pattern.callback = self._root
            elif not getattr(pattern.callback, "is_async", False):
                pattern.callback = _json_not_allowed(pattern.callback)
        if self.docs_url and isinstance(self.docs, OfflineSwagger):
            # Swagger UI's files, served here so /docs works offline (see nexus_shop.swagger).
            assets = f"{self.docs_url.strip('/')}/assets/<str:name>"
            urls.append(path(assets, asset_view, name=ASSET_URL_NAME))
        urls.append(re_path(r"^.*$", self._not_found, name="not-found"))
        return urls

    def _root(self, request: HttpRequest) -> HttpResponse:
        base = request.path.rstrip("/")
        body = {"name": self.title, "version": self.version}
        if self.docs_url:
            body["docs"] = f"{base}{self.docs_url}"
        if self.openapi_url:
            body["openapi"] = f"{base}{self.openapi_url}"
        return self.create_response(request, body, status=200)

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        return self.create_response(
            request, {"detail": f"No endpoint at {request.path}."}, status=404
        )


def create_api(**kwargs: Any) -> NinjaAPI:
    """A ``NinjaAPI`` with every nexus_shop router mounted and errors mapped to JSON."""
    from nexus_shop.routers import router

    options: dict[str, Any] = {
        "title": "nexus_shop catalogue API",
        "version": nexus_shop.__version__,
        "description": "Categories, products and JWT authentication. "
        "Writes need a Bearer token of a user holding the matching `nexus_shop.*` permission.",
        "urls_namespace": "nexus_shop",
        # Swagger UI from files the API serves itself: no CDN, no "ninja" in INSTALLED_APPS.
        "docs": OfflineSwagger(),
    }
    options.update(kwargs)
    api = NexusShopAPI(**options)
    register_exception_handlers(api)
    api.add_router("", router)
    return api


api = create_api()

__all__ = ["NexusShopAPI", "api", "create_api", "register_exception_handlers"]
