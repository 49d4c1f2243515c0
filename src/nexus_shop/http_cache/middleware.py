"""The WSGI entry point: a middleware at the top of ``MIDDLEWARE``.

::

    MIDDLEWARE = [
        "nexus_shop.http_cache.ResponseCacheMiddleware",
        "django.middleware.security.SecurityMiddleware",
        ...
    ]

A hit (to a GET, or to a HEAD: the same answer without its body) returns before any
other middleware runs: one or two Redis round trips, no SQL.
It first calls ``request.get_host()`` (so ``ALLOWED_HOSTS`` still answers 400), lets a
plain-HTTP request through when ``SECURE_SSL_REDIRECT`` is on, and replays the headers
the rest of the chain added when the response was stored (security headers included).

Under ASGI it works too (async, no thread hop of its own), but a hit still goes through
Django's ASGI handler: :class:`~nexus_shop.http_cache.ResponseCacheASGI` answers hits
without entering Django at all, and this middleware then stands by.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from nexus_shop import db_router, tracing
from nexus_shop.http_cache.engine import (
    ANNOTATION,
    LOOKUP_SPAN,
    READS_METHODS,
    WRAPPED,
    Engine,
    Lookup,
    get_engine,
    note,
)
from nexus_shop.http_cache.replay import replay
from nexus_shop.http_cache.store import Entry, Snapshot


def _hit(entry: Entry, lookup: Lookup, request: HttpRequest) -> HttpResponse:
    status, headers, body = replay(entry, lookup.if_none_match, head=request.method == "HEAD")
    note(lookup, "not_modified" if status == 304 else "hit")
    response = HttpResponse(body, status=status)
    del response["Content-Type"]
    for name, value in headers:
        response[name] = value
    return response


def _annotation(request: HttpRequest) -> Any:
    scope = getattr(request, "scope", None)
    return (scope if scope is not None else request.META).get(ANNOTATION)


class ResponseCacheMiddleware:
    """Answers anonymous public reads from the response cache; stores what Django answers.

    Sync and async capable, so it adds no thread hop in either mode; under ASGI behind
    :class:`~nexus_shop.http_cache.ResponseCacheASGI` it stands by.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _lookup(self, request: HttpRequest) -> tuple[Engine, Lookup] | None:
        engine = get_engine()
        if (
            engine is None
            or request.method not in READS_METHODS
            or WRAPPED in getattr(request, "scope", ())
        ):
            return None  # off, a write, or the ASGI wrapper has looked already
        request.get_host()  # DisallowedHost -> Django's 400, as without the cache
        scheme = request.scheme or "http"
        if scheme == "http" and getattr(settings, "SECURE_SSL_REDIRECT", False):
            return None  # SecurityMiddleware redirects it
        headers = {name.lower(): value for name, value in request.headers.items()}
        lookup = engine.classify(
            path=request.path,
            query_string=request.META.get("QUERY_STRING", ""),
            headers=headers,
            scheme=scheme,
        )
        return None if lookup is None else (engine, lookup)

    @staticmethod
    def _entry(
        engine: Engine, request: HttpRequest, response: HttpResponse, snapshot: Snapshot | None
    ) -> Entry | None:
        annotation = _annotation(request)
        if response.status_code != 200 or snapshot is None or annotation is None:
            return None
        if request.method != "GET":
            return None  # a HEAD's answer has no body to store; a GET fills the entry
        return engine.entry_from_response(
            snapshot=snapshot,
            annotation=annotation,
            headers=list(response.items()),
            body=response.content,
        )

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        found = self._lookup(request)
        if found is None:
            return self.get_response(request)
        engine, lookup = found
        with tracing.span(
            LOOKUP_SPAN, read_kind=lookup.kind, operation=lookup.operation_id
        ) as span:
            entry, snapshot = engine.store.lookup(lookup.key)
            span.set("outcome", "miss" if entry is None else "hit")
        if entry is not None:
            return _hit(entry, lookup, request)
        note(lookup, "miss")
        with db_router.filling_cache():  # never store what a lagging replica answered
            response: HttpResponse = self.get_response(request)
        stored = self._entry(engine, request, response, snapshot)
        if stored is not None:
            engine.store.store(lookup.key, stored, engine.timeout)
            note(lookup, "store")
        response["X-Response-Cache"] = "miss"
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        found = self._lookup(request)
        if found is None:
            response: HttpResponse = await self.get_response(request)
            return response
        engine, lookup = found
        with tracing.span(
            LOOKUP_SPAN, read_kind=lookup.kind, operation=lookup.operation_id
        ) as span:
            entry, snapshot = await engine.store.alookup(lookup.key)
            span.set("outcome", "miss" if entry is None else "hit")
        if entry is not None:
            return _hit(entry, lookup, request)
        note(lookup, "miss")
        with db_router.filling_cache():
            response = await self.get_response(request)
        stored = self._entry(engine, request, response, snapshot)
        if stored is not None:
            await engine.store.astore(lookup.key, stored, engine.timeout)
            note(lookup, "store")
        response["X-Response-Cache"] = "miss"
        return response
