"""The ready-made API: ``path("api/", nexus_shop.api.api.urls)``.

Also the pieces to build your own: :func:`create_api` and :func:`register_exception_handlers`.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError, ValidationErrorContext
from ninja.parser import Parser

import nexus_shop
from nexus_shop import exceptions as exc
from nexus_shop.http_cache.core import default_cache_control, finish_response
from nexus_shop.limits import MAX_INPUT_DEPTH, MAX_REPORTED_ERRORS
from nexus_shop.schemas.common import input_depth_ok
from nexus_shop.swagger import ASSET_URL_NAME, OfflineSwagger, asset_view

logger = logging.getLogger("nexus_shop.api")

STATUS_BY_ERROR: dict[type[exc.NexusShopError], int] = {
    exc.ValidationFailed: 422,
    exc.AuthenticationFailed: 401,
    exc.PermissionDenied: 403,
    exc.NotFound: 404,
    exc.FeatureDisabled: 404,
    exc.Conflict: 409,
    exc.PreconditionFailed: 412,
    exc.PreconditionRequired: 428,
    exc.Throttled: 429,
}

# ``errors[].type`` of an ninja-extra APIException that names no code of its own.
_ERROR_TYPES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    422: "invalid",
    428: "precondition_required",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def _status_for(error: exc.NexusShopError) -> int:
    for klass in type(error).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 400


def error_body(
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The one shape of every error answer: ``{"detail": str, "errors": [...], ...extra}``.

    ``errors`` holds ``{"loc", "msg", "type"}`` items; at most ``MAX_REPORTED_ERRORS`` are
    kept, and ``error_count`` then says how many there were.
    """
    items = [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in (errors or [])[:MAX_REPORTED_ERRORS]
    ]
    body: dict[str, Any] = {"detail": detail, "errors": items}
    if errors is not None and len(errors) > MAX_REPORTED_ERRORS:
        body["error_count"] = len(errors)
    # Extra keys add to the shape, never replace its two keys.
    body.update((key, value) for key, value in (extra or {}).items() if key not in body)
    return body


def error_response(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    *,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    response = api.create_response(request, error_body(detail, errors, extra), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _loc_text(loc: list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "Invalid input."
    first = errors[0]
    where = _loc_text(list(first.get("loc", ())))
    what = f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
    if len(errors) == 1:
        return f"Invalid input: {what}"
    return f"Invalid input ({len(errors)} problems); the first is {what}"


def _from_api_exception_detail(detail: Any, code: str) -> tuple[str, list[dict[str, Any]]]:
    """ninja-extra's ``APIException.detail`` (a string, a list or a dict of them) as ours."""
    if isinstance(detail, dict):
        if "detail" in detail:
            return str(detail["detail"]), []
        errors = [
            {"loc": [str(key)], "msg": str(msg), "type": code}
            for key, value in detail.items()
            for msg in (value if isinstance(value, list) else [value])
        ]
        return "Invalid input.", errors
    if isinstance(detail, list):
        messages = [str(item) for item in detail]
        return (messages[0] if messages else "Request failed."), [
            {"loc": [], "msg": msg, "type": code} for msg in messages
        ]
    return str(detail), []


def register_exception_handlers(api: NinjaAPI) -> None:
    """Answer every error on ``api`` as JSON of one shape (``schemas.common.Error``).

    Domain errors (:mod:`nexus_shop.exceptions`) get their mapped status, and their ``extra``
    keys in the body; a ``field`` extra is also reported in ``errors`` (``loc`` is
    ``["query", field]`` on GET and HEAD, ``["body", field]`` otherwise). ninja's 422 and
    400, Django's 404 and 413, ninja-extra's ``APIException`` (ninja-jwt), an unreachable
    database (503) and any other exception (500, logged as Django logs it) take the same shape.
    """

    def domain_error(request: HttpRequest, error: exc.NexusShopError) -> HttpResponse:
        status = _status_for(error)
        errors: list[dict[str, Any]] = []
        field = error.extra.get("field")
        if isinstance(field, str):
            source = "query" if request.method in {"GET", "HEAD"} else "body"
            errors.append({"loc": [source, field], "msg": error.message, "type": error.error_type})
        response = error_response(api, request, status, error.message, errors, extra=error.extra)
        if isinstance(error, exc.Throttled):
            response["Retry-After"] = str(error.retry_after)
        return response

    def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
        return error_response(api, request, 422, _validation_detail(error.errors), error.errors)

    def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
        # ninja's 400 "Cannot parse request body" and its other HttpErrors; a body refused by
        # our parser (nested too deeply) says why.
        cause = error.__cause__
        detail = str(cause) if isinstance(cause, BodyRefused) else str(error)
        return error_response(api, request, error.status_code, detail)

    def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
        return error_response(api, request, 404, "Not found.")

    def suspicious(request: HttpRequest, error: SuspiciousOperation) -> HttpResponse:
        # As Django answers it (a 400, logged to django.security.<class name>), in JSON: for
        # example a query string with more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields.
        logging.getLogger(f"django.security.{type(error).__name__}").error(str(error))
        return error_response(api, request, 400, "Bad request.")

    def too_big(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
        return error_response(api, request, 413, "Request body is too large.")

    def api_exception(request: HttpRequest, error: Any) -> HttpResponse:
        # ninja-extra's APIException family (raised by ninja-jwt): keep its status code.
        status = int(getattr(error, "status_code", 400))
        code = str(getattr(error, "default_code", None) or _ERROR_TYPES.get(status, "error"))
        detail, errors = _from_api_exception_detail(getattr(error, "detail", str(error)), code)
        return error_response(api, request, status, detail, errors)

    def no_credentials(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        # ninja raises this when no authenticator accepted the request: say it the same way
        # as a refused token (JSON detail and a WWW-Authenticate challenge).
        return domain_error(
            request, exc.AuthenticationFailed("Authentication credentials were not provided.")
        )

    def database_down(request: HttpRequest, error: Exception) -> HttpResponse:
        logger.error("Database unavailable: %s", error, exc_info=error)
        response = error_response(api, request, 503, "The database is unavailable; try again.")
        response["Retry-After"] = "5"
        return response

    def server_error(request: HttpRequest, error: Exception) -> HttpResponse:
        if settings.DEBUG:
            raise error  # Django's technical 500 page, with the traceback
        # What Django does for an unhandled exception (log to django.request, which mails
        # ADMINS; tell got_request_exception listeners such as Sentry), answered as JSON.
        got_request_exception.send(sender=None, request=request)
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=error,
            extra={"status_code": 500, "request": request},
        )
        return error_response(api, request, 500, "Internal server error.")

    # ninja types a handler's error as "E | type[E]"; ours take the instance it really passes.
    api.add_exception_handler(Exception, server_error)  # type: ignore[arg-type]
    api.add_exception_handler(exc.NexusShopError, domain_error)  # type: ignore[arg-type]
    api.add_exception_handler(ValidationError, validation_error)  # type: ignore[arg-type]
    api.add_exception_handler(HttpError, http_error)  # type: ignore[arg-type]
    api.add_exception_handler(Http404, not_found)  # type: ignore[arg-type]
    api.add_exception_handler(AuthenticationError, no_credentials)  # type: ignore[arg-type]
    api.add_exception_handler(SuspiciousOperation, suspicious)  # type: ignore[arg-type]
    api.add_exception_handler(RequestDataTooBig, too_big)  # type: ignore[arg-type]
    api.add_exception_handler(OperationalError, database_down)  # type: ignore[arg-type]
    api.add_exception_handler(InterfaceError, database_down)  # type: ignore[arg-type]
    try:
        from ninja_extra.exceptions import APIException
    except ImportError:  # pragma: no cover  (ninja-jwt always brings ninja-extra)
        return
    api.add_exception_handler(APIException, api_exception)


class BodyRefused(ValueError):
    """A JSON body the parser refuses before validation (see :class:`BoundedJSONParser`)."""


class BoundedJSONParser(Parser):
    """ninja's JSON parser, refusing bodies nested deeper than ``MAX_INPUT_DEPTH`` (a 400).

    ``json.loads`` itself gives up (RecursionError, a 400 too) only about a thousand levels
    down; anything that later walks such a body recursively (validators, error reports,
    serialisers) could overflow the stack. Our bodies nest two levels: refusing at 32 costs
    one iterative pass and keeps every later walk shallow.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        if not input_depth_ok(data):
            raise BodyRefused(
                f"Cannot parse request body: JSON nested more than {MAX_INPUT_DEPTH} levels deep."
            )
        return data


def _json_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            json_response = HttpResponse(
                json.dumps(error_body("Method not allowed.")).encode(),
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
        """ninja's document, with optional authentication said as such.

        ninja lists an operation's authenticators as required. Public reads take a token
        but need none (staff see more with one): OpenAPI says that with an empty
        requirement, ``security: [{}, {"ConfiguredAuth": []}]``, so clients and fuzzers
        neither show a lock nor insist on a token.

        While ``NEXUS_SHOP_PURCHASE_ENABLED`` is False, the purchase path's operations (and
        the schemas only they use) are left out.
        """
        schema = super().get_openapi_schema(**kwargs)
        from nexus_shop.conf import conf

        if not conf.PURCHASE_ENABLED:
            from nexus_shop.routers import PURCHASE_ROUTERS
            from nexus_shop.routers.purchase import drop_operations, operation_ids

            drop_operations(schema, operation_ids(*PURCHASE_ROUTERS))
        optional = {
            operation.operation_id
            for _prefix, router in self._routers
            for path_view in router.path_operations.values()
            for operation in path_view.operations
            if any(getattr(auth, "optional", False) for auth in operation.auth_callbacks)
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if not isinstance(operation, dict):
                    continue
                security = operation.get("security")
                if security and operation.get("operationId") in optional and {} not in security:
                    operation["security"] = [{}, *security]
                # ninja describes a status by Python's HTTPStatus phrase, which Python 3.13
                # changed for 422 ("Unprocessable Entity" -> "Unprocessable Content", as in
                # RFC 9110): one document, whichever Python serves it.
                unprocessable = operation.get("responses", {}).get(422)
                if unprocessable is None:
                    unprocessable = operation.get("responses", {}).get("422")
                if unprocessable and unprocessable.get("description") == "Unprocessable Entity":
                    unprocessable["description"] = "Unprocessable Content"
        return schema

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
            request, error_body(f"No endpoint at {request.path}."), status=404
        )

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
