"""The ASGI entry point: answer cache hits before Django, hand everything else to Django.

In the host's ``asgi.py``, one line around Django's application::

    from nexus_shop.http_cache import ResponseCacheASGI
    application = ResponseCacheASGI(get_asgi_application())

A hit is one or two Redis round trips on the event loop (``redis.asyncio``, one pool per
process) and no thread hop, no middleware, no SQL. What Django would have enforced is
kept: the ``Host`` header is checked against ``ALLOWED_HOSTS`` (a bad one goes to Django,
which answers 400), a plain-HTTP request with ``SECURE_SSL_REDIRECT`` goes to Django (to
be redirected), and the stored response replays the headers Django's middleware added
to it (``SecurityMiddleware``, ``XFrameOptionsMiddleware``...), keyed by scheme so HSTS
only ever goes over HTTPS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from nexus_shop import db_router, tracing
from nexus_shop.http_cache.engine import (
    ANNOTATION,
    LOOKUP_SPAN,
    READS_METHODS,
    WRAPPED,
    get_engine,
    note,
)
from nexus_shop.http_cache.replay import replay

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _scheme(scope: Scope, headers: dict[str, str]) -> str:
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        meta_name, secure_value = proxy
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower()
        forwarded = headers.get(name)
        if forwarded is not None:
            return "https" if forwarded.split(",")[0].strip() == secure_value else "http"
    return str(scope.get("scheme") or "http")


def host_allowed(headers: dict[str, str]) -> bool:
    """Django's ``HttpRequest.get_host()`` check, without a request object."""
    host = None
    if getattr(settings, "USE_X_FORWARDED_HOST", False):
        host = headers.get("x-forwarded-host")
    host = host or headers.get("host")
    if not host:
        return False
    domain, _port = split_domain_port(host)
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


class ResponseCacheASGI:
    """Wraps an ASGI application (Django's) with the response cache for public reads.

    With ``NEXUS_SHOP_RESPONSE_CACHE`` unset every request goes straight to ``app``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in READS_METHODS:
            await self.app(scope, receive, send)
            return
        engine = get_engine()
        if engine is None:
            await self.app(scope, receive, send)
            return
        scope[WRAPPED] = True
        headers = _headers(scope)
        scheme = _scheme(scope, headers)
        lookup = None
        # A cross-origin request (``Origin``) goes to Django: its CORS middleware decides the
        # ``Access-Control-*`` headers per origin, and ResponseCacheMiddleware, placed after
        # it, still answers the hit there. Replaying one origin's headers to another would be
        # wrong either way.
        if (
            "origin" not in headers
            and host_allowed(headers)
            and not (scheme == "http" and getattr(settings, "SECURE_SSL_REDIRECT", False))
        ):
            lookup = engine.classify(
                path=scope["path"],
                query_string=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                scheme=scheme,
            )
        if lookup is None:
            await self.app(scope, receive, send)
            return
        with tracing.span(
            LOOKUP_SPAN, read_kind=lookup.kind, operation=lookup.operation_id
        ) as span:
            entry, snapshot = await engine.store.alookup(lookup.key)
            span.set("outcome", "miss" if entry is None else "hit")
        if entry is not None:
            status, hit_headers, hit_body = replay(
                entry, lookup.if_none_match, head=scope["method"] == "HEAD"
            )
            note(lookup, "not_modified" if status == 304 else "hit")
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in hit_headers],
                }
            )
            await send({"type": "http.response.body", "body": hit_body})
            return

        note(lookup, "miss")
        status = 0
        response_headers: list[tuple[bytes, bytes]] = []
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
                message["headers"] = [*response_headers, (b"x-response-cache", b"miss")]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            await send(message)

        with db_router.filling_cache():  # never store what a lagging replica answered
            await self.app(scope, receive, capture)
        annotation = scope.get(ANNOTATION)
        if status != 200 or snapshot is None or annotation is None or scope["method"] != "GET":
            return  # a HEAD's answer has no body to store: a GET fills the entry
        stored = engine.entry_from_response(
            snapshot=snapshot,
            annotation=annotation,
            headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in response_headers],
            body=bytes(body),
        )
        if stored is not None:
            await engine.store.astore(lookup.key, stored, engine.timeout)
            note(lookup, "store")
