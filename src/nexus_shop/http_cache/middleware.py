"""The WSGI entry point: a middleware at the top of ``MIDDLEWARE``.

::

    MIDDLEWARE = [
        "nexus_shop.http_cache.ResponseCacheMiddleware",
        "django.middleware.security.SecurityMiddleware",
        ...
    ]

A hit returns before any other middleware runs: one or two Redis round trips, no SQL.
It first calls ``request.get_host()`` (so ``ALLOWED_HOSTS`` still answers 400), lets a
plain-HTTP request through when ``SECURE_SSL_REDIRECT`` is on, and replays the headers
the rest of the chain added when the response was stored (security headers included).

It is synchronous on purpose: under ASGI use :class:`~nexus_shop.http_cache.ResponseCacheASGI`
instead, which answers hits without entering Django at all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from nexus_shop.http_cache.core import ANNOTATION, WRAPPED, etag_matches, get_engine

_304_DROPPED = {"content-type", "content-length"}


class ResponseCacheMiddleware:
    """Answers anonymous public reads from the response cache; stores what Django answers."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        engine = get_engine()
        if engine is None or request.method != "GET" or WRAPPED in getattr(request, "scope", ()):
            return self.get_response(request)  # off, a write, or the ASGI wrapper has looked
        request.get_host()  # DisallowedHost -> Django's 400, as without the cache
        scheme = request.scheme or "http"
        if scheme == "http" and getattr(settings, "SECURE_SSL_REDIRECT", False):
            return self.get_response(request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        lookup = engine.classify(
            path=request.path,
            query_string=request.META.get("QUERY_STRING", ""),
            headers=headers,
            scheme=scheme,
        )
        if lookup is None:
            return self.get_response(request)
        entry, snapshot = engine.store.lookup(lookup.key)
        if entry is not None:
            not_modified = etag_matches(lookup.if_none_match, entry.etag)
            response = HttpResponse(
                b"" if not_modified else entry.body, status=304 if not_modified else 200
            )
            del response["Content-Type"]
            for name, value in entry.headers:
                if not (not_modified and name.lower() in _304_DROPPED):
                    response[name] = value
            response["X-Response-Cache"] = "hit"
            return response

        response = self.get_response(request)
        annotation = request.META.get(ANNOTATION)
        if response.status_code == 200 and snapshot is not None and annotation is not None:
            stored = engine.entry_from_response(
                snapshot=snapshot,
                annotation=annotation,
                headers=list(response.items()),
                body=response.content,
            )
            if stored is not None:
                engine.store.store(lookup.key, stored, engine.timeout)
        response["X-Response-Cache"] = "miss"
        return response
