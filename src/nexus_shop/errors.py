"""The one shape of every error answer, and the handlers that give every error that shape.

As django-ninja keeps its exception handlers in ``ninja.errors``, nexus_shop keeps its own
here: :func:`register_exception_handlers` maps domain errors (:mod:`nexus_shop.exceptions`)
to their statuses in one place, and answers ninja's, Django's and ninja-extra's errors (and
any other exception) in the same JSON shape, :func:`error_body`. The API's own URL views
(unknown paths, wrong methods; :class:`nexus_shop.api.NexusShopAPI`) answer with
:func:`error_response` too. ``nexus_shop.api`` re-exports the public names.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from nexus_shop import exceptions as exc
from nexus_shop.limits import MAX_REPORTED_ERRORS
from nexus_shop.logs import current_request_id
from nexus_shop.parser import BodyRefused

__all__ = [
    "STATUS_BY_ERROR",
    "domain_error_body",
    "error_body",
    "error_response",
    "register_exception_handlers",
]

# Django logs under its own names (django.request, django.security.*); this logger is
# the API's, as it was before the module split.
logger = logging.getLogger("nexus_shop.api")

STATUS_BY_ERROR: dict[type[exc.NexusShopError], int] = {
    exc.ValidationFailed: 422,
    exc.AuthenticationFailed: 401,
    exc.PermissionDenied: 403,
    exc.NotFound: 404,
    exc.FeatureDisabled: 404,
    exc.Conflict: 409,
    exc.PreconditionFailed: 412,
    exc.PayloadTooLarge: 413,
    exc.UnsupportedMediaType: 415,
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
    415: "unsupported_media_type",
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


def domain_errors(error: exc.NexusShopError, *, method: str) -> list[dict[str, Any]]:
    """The ``errors`` of a domain error's answer: its ``field`` extra, if any, located in
    the query (GET, HEAD) or the body (any other ``method``)."""
    field = error.extra.get("field")
    if not isinstance(field, str):
        return []
    source = "query" if method in {"GET", "HEAD"} else "body"
    return [{"loc": [source, field], "msg": error.message, "type": error.error_type}]


def domain_error_body(error: exc.NexusShopError, *, method: str) -> tuple[int, dict[str, Any]]:
    """A domain error's status and body, as the API answers it (:func:`error_body`).

    For answers given outside Django (:class:`nexus_shop.asgi.UploadLimitASGI`).
    """
    errors = domain_errors(error, method=method)
    return _status_for(error), error_body(error.message, errors, error.extra)


def error_body(
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The one shape of every error answer: ``{"detail": str, "errors": [...], ...extra}``.

    ``errors`` holds ``{"loc", "msg", "type"}`` items; at most ``MAX_REPORTED_ERRORS`` are
    kept, and ``error_count`` then says how many there were. During an observed request
    (:mod:`nexus_shop.observability`), ``request_id`` is its id, as in ``X-Request-ID``.
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
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
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
    """:func:`error_body` as ``api`` answers it (its renderer and headers), with ``status``.

    A 401 also carries the ``WWW-Authenticate`` challenge.
    """
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
    400, Django's 404, 413 and malformed multipart bodies (400), ninja-extra's
    ``APIException`` (ninja-jwt), an unreachable database (503) and any other exception
    (500, logged as Django logs it) take the same shape.
    """

    def domain_error(request: HttpRequest, error: exc.NexusShopError) -> HttpResponse:
        status, errors = _status_for(error), domain_errors(error, method=request.method or "")
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

    def bad_multipart(request: HttpRequest, error: MultiPartParserError) -> HttpResponse:
        # Django's parser refusing a multipart body (no boundary in the Content-Type, a
        # body that is not the parts it announces): the client's mistake, a 400 that says so.
        return error_response(api, request, 400, f"Malformed multipart body: {error}.")

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
    api.add_exception_handler(MultiPartParserError, bad_multipart)  # type: ignore[arg-type]
    api.add_exception_handler(OperationalError, database_down)  # type: ignore[arg-type]
    api.add_exception_handler(InterfaceError, database_down)  # type: ignore[arg-type]
    try:
        from ninja_extra.exceptions import APIException
    except ImportError:  # pragma: no cover  (ninja-jwt always brings ninja-extra)
        return
    api.add_exception_handler(APIException, api_exception)
