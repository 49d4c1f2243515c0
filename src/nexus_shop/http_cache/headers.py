"""The HTTP headers of every API answer: ``Cache-Control``, ``ETag``, 304s and ``If-Match``.

The API calls :func:`finish_response` on every response it creates; the ASGI wrapper and
the WSGI middleware replay hits with :func:`nexus_shop.http_cache.replay.replay`, which
keeps the same headers on a 304 as :func:`not_modified` (:func:`kept_on_304`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified

from nexus_shop.conf import conf
from nexus_shop.http_cache.engine import ANNOTATION

PUBLIC = "public, max-age=0, must-revalidate"
PRIVATE = "private, max-age=0, must-revalidate"
NO_STORE = "no-store"
PRIVATE_NO_STORE = "private, no-store"

# RFC 9110 15.4.5: a 304 carries the fields a 200 would have had, less the metadata of the
# body it does not send. A denylist, not Django's allowlist: the headers middleware adds to
# Django's own 304 (security headers, Content-Language) are then on a replayed 304 too.
_NOT_ON_304 = frozenset({"content-type", "content-length", "content-encoding"})


def kept_on_304(name: str) -> bool:
    """Whether a 304 keeps header ``name`` of the 200 it stands for (the one rule for all)."""
    return name.lower() not in _NOT_ON_304


def _etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` (weak comparison, RFC 9110 13.1.2) against our strong ``etag``."""
    if not header or not etag:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def _is_anonymous(request: HttpRequest) -> bool:
    user = getattr(request, "auth", None)
    return user is None or not getattr(user, "is_authenticated", False)


def default_cache_control(request: HttpRequest) -> str:
    """What an answer that is not a public read gets: never stored, private if authenticated."""
    return PRIVATE_NO_STORE if "authorization" in request.headers else NO_STORE


def finish_response(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Set ``Cache-Control``, ``ETag``, ``Vary`` and surrogate keys; answer ``If-None-Match``.

    Every API response passes here (:class:`nexus_shop.api.NexusShopAPI`). Errors are
    ``no-store``; public reads marked by :func:`~nexus_shop.http_cache.reads.mark_public_read`
    are ``public`` for the anonymous and ``private`` otherwise; everything else is
    ``no-store`` (``private, no-store`` for a request with credentials) unless the view
    set its own header.
    """
    annotation: dict[str, Any] | None = getattr(request, "_nexus_shop_http_cache", None)
    if response.status_code >= 400:
        response["Cache-Control"] = NO_STORE
        return response
    if annotation is None or request.method not in ("GET", "HEAD") or response.status_code != 200:
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = default_cache_control(request)
        return response

    if not response.has_header("ETag"):
        response["ETag"] = _etag_of(response.content)
    response["Vary"] = "Authorization"
    if _is_anonymous(request) and "authorization" not in request.headers:
        cdn = conf.CDN_PURGE_BACKEND is not None
        if cdn:
            response["Cache-Control"] = f"{PUBLIC}, s-maxage={conf.CDN_MAX_AGE}"
            response["Surrogate-Control"] = f"max-age={conf.CDN_MAX_AGE}"
            tags = " ".join(annotation["tags"])
            response["Surrogate-Key"] = tags
            response["Cache-Tag"] = tags.replace(" ", ",")
        else:
            response["Cache-Control"] = PUBLIC
        where = getattr(request, "scope", None)
        if where is None:
            where = request.META
        where[ANNOTATION] = annotation
    else:
        response["Cache-Control"] = PRIVATE

    if etag_matches(request.headers.get("If-None-Match"), response["ETag"]):
        return not_modified(response)
    return response


def not_modified(response: HttpResponse) -> HttpResponse:
    """The 304 for ``response``: its headers but those :func:`kept_on_304` drops, no body."""
    result = HttpResponseNotModified()
    for name, value in response.items():
        if kept_on_304(name):
            result[name] = value
    return result


def without_body(response: HttpResponse) -> HttpResponse:
    """``response`` as the answer to a HEAD: the same status and headers, no body.

    RFC 9110 9.3.2: HEAD answers as GET would, without the content; ``Content-Length``
    still gives the length the GET's body has (none on a 204 or a 304, as on the GET).
    """
    if response.streaming:  # pragma: no cover  (no operation of the API streams)
        return response
    if response.status_code not in (204, 304):
        response["Content-Length"] = str(len(response.content))
    response.content = b""
    return response


def parse_if_match(header: str | None) -> tuple[str, ...] | None:
    """The entity tags of an ``If-Match`` header (quotes removed), ``("*",)``, or ``None``.

    Weak tags are kept with their ``W/`` prefix: they never match (strong comparison).
    """
    if header is None:
        return None
    header = header.strip()
    if header == "*":
        return ("*",)
    tags = []
    for raw in header.split(","):
        tag = raw.strip()
        if tag.startswith('"') and tag.endswith('"') and len(tag) >= 2:
            tags.append(tag[1:-1])
        elif tag:
            tags.append("W/" + tag if not tag.startswith("W/") else tag)
    return tuple(tags)
