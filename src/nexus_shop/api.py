"""The ready-made API: ``path("api/", nexus_shop.api.api.urls)``.

Also the pieces to build your own: :func:`create_api` and :func:`register_exception_handlers`.

Laid out as django-ninja lays out its own: this module holds the API class and its
factory; the error shape and handlers are in :mod:`nexus_shop.errors`, the body parser in
:mod:`nexus_shop.parser`, the OpenAPI changes in :mod:`nexus_shop.openapi`. The public
names of those (``register_exception_handlers``, ``error_body``) are importable from here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, path, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import ValidationError, ValidationErrorContext

import nexus_shop
from nexus_shop.errors import error_body, error_response, register_exception_handlers
from nexus_shop.http_cache.headers import default_cache_control, finish_response, without_body
from nexus_shop.observability import register_operations
from nexus_shop.openapi import finish_schema
from nexus_shop.parser import BoundedJSONParser
from nexus_shop.swagger import ASSET_URL_NAME, OfflineSwagger, asset_view

View = Callable[..., HttpResponse]

# The methods the API's own pages (its root, openapi.json, Swagger UI) answer.
READ_METHODS = ("GET", "HEAD")


class NexusShopAPI(NinjaAPI):
    """A ``NinjaAPI`` that never answers HTML: unknown paths and wrong methods get JSON too.

    Whatever the method, and whether the request carries a CSRF token or not: every view
    under the API is exempt from Django's CSRF middleware, as ninja's operations are (its
    cookie authenticators check CSRF themselves; nexus_shop's take a bearer token). The
    views this class adds or replaces (its root, ``openapi.json``, Swagger UI, the
    catch-all 404) would otherwise answer a POST without a token with Django's HTML 403.
    """

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        register_operations(self)  # the metrics' and access log's operation ids
        for pattern in urls:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":
                pattern.callback = self._read_only(self._root)
            elif not getattr(pattern.callback, "csrf_exempt", False):
                # ninja's openapi.json and Swagger UI views: pages to read, not operations.
                pattern.callback = self._read_only(pattern.callback)
            elif not getattr(pattern.callback, "is_async", False):
                pattern.callback = self._json_not_allowed(pattern.callback)
        if self.docs_url and isinstance(self.docs, OfflineSwagger):
            # Swagger UI's files, served here so /docs works offline (see nexus_shop.swagger).
            assets = f"{self.docs_url.strip('/')}/assets/<str:name>"
            urls.append(path(assets, asset_view, name=ASSET_URL_NAME))
        urls.append(re_path(r"^.*$", csrf_exempt(self._not_found), name="not-found"))
        return urls

    def _method_not_allowed(self, request: HttpRequest, allowed: str) -> HttpResponse:
        methods = [method.strip() for method in allowed.split(",") if method.strip()]
        if "GET" in methods and "HEAD" not in methods:
            methods.insert(methods.index("GET") + 1, "HEAD")  # every GET answers HEAD too
        response = error_response(self, request, 405, "Method not allowed.")
        response["Allow"] = ", ".join(methods)
        return response

    def _json_not_allowed(self, view: View) -> View:
        """ninja's operation view, with its 405 (an empty text answer) in the error shape,
        and HEAD answered wherever GET is (RFC 9110 9.1: a general-purpose server MUST).

        ninja routes by method and knows no HEAD: the request runs as the GET (the same
        authentication, caching headers, ``ETag`` and 304), then loses its body
        (:func:`~nexus_shop.http_cache.headers.without_body`). A public read's HEAD is
        answered from the response cache where the GET would be
        (:mod:`nexus_shop.http_cache`).
        """

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            head = request.method == "HEAD"
            if head:
                request.method = "GET"
            try:
                response = view(request, *args, **kwargs)
            finally:
                if head:
                    request.method = "HEAD"
            if isinstance(response, HttpResponseNotAllowed):
                return self._method_not_allowed(request, response["Allow"])
            return without_body(response) if head else response

        return wrapper

    def _read_only(self, view: View) -> View:
        """``view`` for GET and HEAD; a JSON 405 for any other method, CSRF token or not."""

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in READ_METHODS:
                return self._method_not_allowed(request, ", ".join(READ_METHODS))
            return view(request, *args, **kwargs)

        # Only reads get through, and Django never checks CSRF on a read: exempting the
        # view changes nothing but the answer to a write, a JSON 405 and not the HTML 403.
        return csrf_exempt(wrapper)

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        """Every answer gets its caching headers here (see :mod:`nexus_shop.http_cache`)."""
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        return finish_response(request, response)

    def create_temporal_response(self, request: HttpRequest) -> HttpResponse:
        # A 204 is this response as is (it never reaches create_response): default it here.
        response = super().create_temporal_response(request)
        response["Cache-Control"] = default_cache_control(request)
        return response

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """ninja's document, finished by :func:`nexus_shop.openapi.finish_schema`."""
        return finish_schema(self, super().get_openapi_schema(**kwargs))

    def _root(self, request: HttpRequest) -> HttpResponse:
        base = request.path.rstrip("/")
        body = {"name": self.title, "version": self.version}
        if self.docs_url:
            body["docs"] = f"{base}{self.docs_url}"
        if self.openapi_url:
            body["openapi"] = f"{base}{self.openapi_url}"
        return self.create_response(request, body, status=200)

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        # Every method, CSRF token or not (the view is csrf_exempt): the same JSON 404.
        return error_response(self, request, 404, f"No endpoint at {request.path}.")

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> ValidationError:
        # ninja locates a field of a body schema under the view's parameter name
        # (["body", "payload", "price"]): an implementation detail of the view, which
        # clients cannot know. Report it as ["body", "price"].
        error = super().validation_error_from_error_contexts(error_contexts)
        single = {
            getattr(context.model, "__read_from_single_attr__", None) for context in error_contexts
        } - {None}
        for item in error.errors:
            loc = tuple(item.get("loc", ()))
            if len(loc) >= 2 and loc[0] == "body" and loc[1] in single:
                item["loc"] = (loc[0], *loc[2:])
        return error


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
        "parser": BoundedJSONParser(),
    }
    options.update(kwargs)
    api = NexusShopAPI(**options)
    register_exception_handlers(api)
    api.add_router("", router)
    return api


api = create_api()

__all__ = [
    "NexusShopAPI",
    "api",
    "create_api",
    "error_body",
    "register_exception_handlers",
]
