"""What every request leaves behind: a request id, one access-log line, its metrics.

Two entry points, as for the response cache, each placed outermost:

* WSGI: ``"nexus_shop.observability.ObservabilityMiddleware"`` first in ``MIDDLEWARE``
  (above ``ResponseCacheMiddleware``, so cache hits are seen too);
* ASGI: ``ObservabilityASGI(...)`` around everything else in ``asgi.py``, *and* the
  middleware (which then only names the operation for the wrapper's line).

Each request gets its id (:mod:`nexus_shop.logs`), echoed in ``X-Request-ID``; the
response cache never stores that header, so a hit carries its own request's id. When the
answer is out, the request is counted (:mod:`nexus_shop.metrics`) under bounded labels:
the OpenAPI operation id (never the path: a path no operation serves is
``"unmatched"``, a view outside the API ``"other"``), the method and the status class;
and one record goes to the ``nexus_shop.access`` logger with the request id, operation,
status, duration, user id, cache outcome and statement count. Response-cache hits are
logged one in ``NEXUS_SHOP_ACCESS_LOG_HITS_EVERY`` (a log record costs about as much as a
hit's whole budget for instrumentation); every other request is logged.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, resolve

from nexus_shop import instruments, logs

if TYPE_CHECKING:
    from ninja import NinjaAPI

__all__ = ["ObservabilityASGI", "ObservabilityMiddleware", "register_operations"]

access_logger = logging.getLogger("nexus_shop.access")

OBSERVED = "nexus_shop.observed"
"""Key of the request's :class:`~nexus_shop.logs.RequestState` in the ASGI scope."""

UNMATCHED = "unmatched"
OTHER = "other"

# namespace -> (url name, method) -> operation id; and namespace -> the API's other pages.
_operations: dict[str, dict[tuple[str, str], str]] = {}
_hit_counter = itertools.count(1)


def register_operations(api: NinjaAPI) -> None:
    """Learn ``api``'s operation ids by URL name and method (its URLs being built)."""
    by_name: dict[tuple[str, str], str] = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            # Django resolves a path to its first pattern, whichever operation (method) it is.
            names = [op.url_name for op in path_view.operations if getattr(op, "url_name", None)]
            for operation in path_view.operations:
                if operation.operation_id is None:
                    continue
                for method in operation.methods:
                    for name in names:
                        by_name[(name, method)] = operation.operation_id
                        if method == "GET":
                            by_name.setdefault((name, "HEAD"), operation.operation_id)
    _operations[api.urls_namespace or ""] = by_name


def operation_of(match: ResolverMatch | None, method: str) -> str:
    """The bounded name of what answered: an operation id, an API page's URL name,
    ``"unmatched"`` (the API's catch-all 404, or no URL at all) or ``"other"``."""
    if match is None:
        return UNMATCHED
    for namespace in reversed(match.namespaces):
        table = _operations.get(namespace)
        if table is None:
            continue
        name = match.url_name or ""
        found = table.get((name, method))
        if found is not None:
            return found
        if name == "not-found" or not name:
            return UNMATCHED
        return name  # the API's root, openapi.json, docs: names the API gives them
    return OTHER


def _user_id(request: HttpRequest) -> int | str | None:
    user = getattr(request, "auth", None)
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int | str) else None


def finish(state: logs.RequestState, *, method: str, status: int, seconds: float) -> None:
    """Count the request and write its access-log line (a hit: one in N)."""
    operation = state.operation or UNMATCHED
    instruments.request_done(
        operation=operation, method=method, status=status, seconds=seconds, queries=state.queries
    )
    sampled = 1
    if state.cache == "hit":
        every: int = logs.hot_setting("ACCESS_LOG_HITS_EVERY")
        if every <= 0 or next(_hit_counter) % every:
            return
        sampled = every
    if not access_logger.isEnabledFor(logging.INFO):
        return
    access_logger.info(
        "%s %s %s %.1fms",
        method,
        operation,
        status,
        seconds * 1000,
        extra={
            "request_id": state.request_id,
            "operation": operation,
            "method": method,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": state.user_id,
            "cache": state.cache,
            "queries": state.queries,
            "sampled": sampled,
        },
    )


class ObservabilityMiddleware:
    """Request id, access log and metrics for every request Django serves (see module doc).

    Sync and async capable, so it adds no thread hop in either mode.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
            # Django adapts a sync process_view to an async chain with a thread hop.
            self.process_view = self._aprocess_view  # type: ignore[method-assign,assignment]  # the async twin, same arguments

    @staticmethod
    def _name(request: HttpRequest) -> None:
        state = logs.current()
        if state is not None and state.operation is None:
            state.operation = operation_of(request.resolver_match, request.method or "")

    def process_view(self, request: HttpRequest, *args: Any) -> None:
        """The URL is resolved: name the operation, for the statements that follow."""
        self._name(request)

    async def _aprocess_view(self, request: HttpRequest, *args: Any) -> None:
        self._name(request)

    @staticmethod
    def _after(request: HttpRequest, state: logs.RequestState) -> None:
        if state.operation is None:
            state.operation = operation_of(
                getattr(request, "resolver_match", None), request.method or ""
            )
        if state.user_id is None:
            state.user_id = _user_id(request)

    @staticmethod
    def _wrapped(request: HttpRequest) -> logs.RequestState | None:
        """The state ObservabilityASGI opened for this request, if it did."""
        scope = getattr(request, "scope", None)
        return None if scope is None else scope.get(OBSERVED)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        wrapped = self._wrapped(request)
        if wrapped is not None:
            # Under ASGI, sync when a middleware below is sync-only (Django adapts the
            # chain): the wrapper counts and logs; name the operation for it.
            response: HttpResponseBase = self.get_response(request)
            self._after(request, wrapped)
            return response
        state, token = logs.begin(request.headers.get(logs.REQUEST_ID_HEADER))
        start = time.perf_counter()
        try:
            response = self.get_response(request)
        except BaseException:
            logs.end(token)
            raise
        response[logs.REQUEST_ID_HEADER] = state.request_id
        self._after(request, state)
        finish(
            state,
            method=request.method or "",
            status=response.status_code,
            seconds=time.perf_counter() - start,
        )
        # Django logs a 4xx/5xx (django.request) after the middleware chain: the id stays
        # until the server closes the response, in this thread (WSGI).
        # django-stubs omits _resource_closers, the list close() runs (Django 3.0 on).
        response._resource_closers.append(  # type: ignore[attr-defined]
            functools.partial(logs.end, token)
        )
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        state = self._wrapped(request)
        if state is not None:  # ObservabilityASGI has the request: name it for the wrapper
            response: HttpResponseBase = await self.get_response(request)
            self._after(request, state)
            return response
        state, token = logs.begin(request.headers.get(logs.REQUEST_ID_HEADER))
        start = time.perf_counter()
        try:
            response = await self.get_response(request)
            response[logs.REQUEST_ID_HEADER] = state.request_id
            self._after(request, state)
            finish(
                state,
                method=request.method or "",
                status=response.status_code,
                seconds=time.perf_counter() - start,
            )
        finally:
            logs.end(token)
        return response


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HEADER = logs.REQUEST_ID_HEADER.lower().encode("latin-1")


class ObservabilityASGI:
    """The ASGI side: wraps everything (the response cache's hits included), outermost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name.lower() == _HEADER:
                incoming = value.decode("latin-1")
                break
        state, token = logs.begin(incoming)
        scope[OBSERVED] = state
        status = 0
        start = time.perf_counter()

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [(n, v) for n, v in message.get("headers", ()) if n.lower() != _HEADER]
                message["headers"] = [*kept, (_HEADER, state.request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            if state.operation is None:
                state.operation = _resolve(scope)
            finish(
                state,
                method=str(scope.get("method", "")),
                status=status or 500,
                seconds=time.perf_counter() - start,
            )
            logs.end(token)


def _resolve(scope: Scope) -> str:
    """The operation of a request the middleware did not name (not installed, or no view)."""
    root = scope.get("root_path") or ""
    path: str = scope.get("path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    try:
        return operation_of(resolve(path), str(scope.get("method", "")))
    except Resolver404:
        return UNMATCHED
