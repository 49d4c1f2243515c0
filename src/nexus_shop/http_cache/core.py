"""The response cache's rules: which requests it answers, their keys, and the HTTP headers.

Shared by the ASGI wrapper (:mod:`nexus_shop.http_cache.asgi`) and the WSGI middleware
(:mod:`nexus_shop.http_cache.middleware`); the API calls :func:`finish_response` on every
response it creates.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse

from nexus_shop import invalidation
from nexus_shop.conf import conf
from nexus_shop.http_cache.store import DjangoCacheStore, Entry, RedisStore, Snapshot, Store

logger = logging.getLogger("nexus_shop.http_cache")

PUBLIC = "public, max-age=0, must-revalidate"
PRIVATE = "private, max-age=0, must-revalidate"
NO_STORE = "no-store"
PRIVATE_NO_STORE = "private, no-store"

ANNOTATION = "nexus_shop.http_cache"
"""Key under which a public read leaves its cache metadata in the ASGI scope / WSGI environ."""

WRAPPED = "nexus_shop.http_cache.wrapped"
"""Set in the ASGI scope by the wrapper, so the WSGI middleware (if also installed) stands by."""

# Response headers a stored entry does not keep: they belong to one exchange.
_UNSTORED = {"content-length", "date", "set-cookie", "server", "connection", "x-response-cache"}

_INT = re.compile(r"^[1-9][0-9]{0,8}$")
_PRICE = re.compile(r"^[0-9]{1,10}(\.[0-9]{0,2})?$")
_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n"}
_ORDERINGS = {"price", "-price", "created_at", "-created_at", "name", "-name", "relevance"}


class _Skip(Exception):
    """This request's parameters are not ones the cache normalises: let Django answer."""


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise _Skip
    return values[0]


def _int_param(params: Mapping[str, list[str]], name: str, *, high: int) -> int | None:
    value = _one(params, name)
    if value is None:
        return None
    if not _INT.match(value) or int(value) > high:
        raise _Skip
    return int(value)


def _bool_param(params: Mapping[str, list[str]], name: str) -> bool | None:
    value = _one(params, name)
    if value is None:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _Skip


def _price_param(params: Mapping[str, list[str]], name: str) -> str | None:
    value = _one(params, name)
    if value is None:
        return None
    if not _PRICE.match(value):
        raise _Skip
    try:
        return str(Decimal(value).quantize(Decimal("0.01")))
    except InvalidOperation:
        raise _Skip from None


def _text_param(params: Mapping[str, list[str]], name: str, *, max_length: int) -> str | None:
    value = _one(params, name)
    if value is None:
        return None
    if len(value) > max_length:
        raise _Skip
    return value


def _page_params(params: Mapping[str, list[str]]) -> list[tuple[str, object]]:
    from nexus_shop.limits import MAX_CURSOR_LENGTH, MAX_PAGE_SIZE

    page = _int_param(params, "page", high=10**9) or 1
    page_size = _int_param(params, "page_size", high=MAX_PAGE_SIZE) or conf.DEFAULT_PAGE_SIZE
    cursor = _text_param(params, "cursor", max_length=MAX_CURSOR_LENGTH)
    return [("page", page), ("page_size", page_size), ("cursor", cursor)]


def _filter_params(params: Mapping[str, list[str]]) -> list[tuple[str, object]]:
    """The filters and ``q`` shared by the product list and its facets."""
    q = _text_param(params, "q", max_length=200)
    q = (q.strip() or None) if q is not None else None
    min_price = _price_param(params, "min_price")
    max_price = _price_param(params, "max_price")
    if min_price is not None and max_price is not None and Decimal(min_price) > Decimal(max_price):
        raise _Skip
    _bool_param(params, "include_deleted")  # staff only: valid or not, ignored for the public
    return [
        ("category", _text_param(params, "category", max_length=200)),
        ("min_price", min_price),
        ("max_price", max_price),
        ("in_stock", _bool_param(params, "in_stock")),
        ("q", q),
    ]


def _product_list_key(params: Mapping[str, list[str]]) -> list[tuple[str, object]]:
    filters = _filter_params(params)
    ordering = _one(params, "ordering") or "-created_at"
    if ordering not in _ORDERINGS or (ordering == "relevance" and not dict(filters)["q"]):
        raise _Skip
    return [*_page_params(params), *filters, ("ordering", ordering)]


def _product_detail_key(params: Mapping[str, list[str]]) -> list[tuple[str, object]]:
    _bool_param(params, "include_deleted")  # ignored for the public, as above
    return []


@dataclass(frozen=True)
class Lookup:
    """A request the cache may answer: its key, and what to check before answering."""

    key: str
    if_none_match: str | None


@dataclass
class Routes:
    """The public read paths, found by reversing the API's URL names once."""

    list_paths: dict[str, str] = field(default_factory=dict)
    detail_patterns: list[tuple[re.Pattern[str], str]] = field(default_factory=list)


_SENTINEL = 987654321


def _load_routes() -> Routes:
    from django.urls import NoReverseMatch, reverse

    namespace = conf.RESPONSE_CACHE_URL_NAMESPACE
    routes = Routes()
    try:
        routes.list_paths[reverse(f"{namespace}:product-list")] = "product-list"
        routes.list_paths[reverse(f"{namespace}:category-list")] = "category-list"
        with contextlib.suppress(NoReverseMatch):  # an API without the facets operation
            routes.list_paths[reverse(f"{namespace}:product-facets")] = "product-facets"
        for name, kwarg in (("product-detail", "product_id"), ("category-detail", "category_id")):
            path = reverse(f"{namespace}:{name}", kwargs={kwarg: _SENTINEL})
            pattern = re.escape(path).replace(str(_SENTINEL), "([1-9][0-9]{0,17})")
            routes.detail_patterns.append((re.compile(f"^{pattern}$"), name))
    except NoReverseMatch:
        logger.warning(
            "Response cache: no URLs named %r:product-list etc.; is the API mounted? "
            "(NEXUS_SHOP_RESPONSE_CACHE_URL_NAMESPACE)",
            namespace,
        )
    return routes


_KEYERS: dict[str, Callable[[Mapping[str, list[str]]], list[tuple[str, object]]]] = {
    "product-list": _product_list_key,
    "product-facets": _filter_params,
    "category-list": _page_params,
    "product-detail": _product_detail_key,
    "category-detail": _product_detail_key,  # no parameters: only the id
}


class Engine:
    """The configured response cache: the store, the routes, the settings it was built with."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.timeout = conf.RESPONSE_CACHE_TIMEOUT
        self._routes: Routes | None = None
        self._routes_lock = threading.Lock()

    @property
    def routes(self) -> Routes:
        if self._routes is None:
            with self._routes_lock:
                if self._routes is None:
                    self._routes = _load_routes()
        return self._routes

    def classify(
        self, *, path: str, query_string: str, headers: Mapping[str, str], scheme: str
    ) -> Lookup | None:
        """The lookup for an anonymous public read, or ``None``: Django answers, uncached.

        ``headers`` has lower-case names. Requests with credentials (an ``Authorization``
        header or Django's session cookie) are never answered from the cache.
        """
        if "authorization" in headers:
            return None
        cookie = headers.get("cookie")
        if cookie and settings.SESSION_COOKIE_NAME in cookie:
            return None
        routes = self.routes
        name = routes.list_paths.get(path)
        ident = ""
        if name is None:
            for pattern, detail_name in routes.detail_patterns:
                match = pattern.match(path)
                if match:
                    name, ident = detail_name, match.group(1)
                    break
            else:
                return None
        if "\x00" in query_string or "%00" in query_string:
            return None
        params: dict[str, list[str]] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            params.setdefault(key, []).append(value)
        try:
            normal = _KEYERS[name](params)
        except _Skip:
            return None
        canonical = repr((scheme, name, ident, [(k, v) for k, v in normal if v is not None]))
        key = "e:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
        return Lookup(key=key, if_none_match=headers.get("if-none-match"))

    def entry_from_response(
        self,
        *,
        snapshot: Snapshot,
        annotation: Mapping[str, Any],
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> Entry | None:
        kept: list[tuple[str, str]] = []
        etag = ""
        for name, value in headers:
            lower = name.lower()
            if lower == "set-cookie":
                return None  # a response that sets a cookie is somebody's: never shared
            if lower == "etag":
                etag = value
            # CORS headers answer one request's Origin: never replayed to another.
            if lower not in _UNSTORED and not lower.startswith("access-control-"):
                kept.append((name, value))
        return Entry(
            seq=snapshot.seq,
            epoch=snapshot.epoch,
            deps=tuple(annotation["deps"]),
            headers=tuple(kept),
            etag=etag,
            body=body,
        )


class _Slot:
    """The process's engine, built on first use and forgotten when settings change."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.built = False
        self.lock = threading.Lock()


_slot = _Slot()


def get_engine() -> Engine | None:
    """The response cache configured by ``NEXUS_SHOP_RESPONSE_CACHE``; ``None`` when off."""
    if _slot.built:
        return _slot.engine
    with _slot.lock:
        if not _slot.built:
            _slot.engine = _build_engine()
            _slot.built = True
    return _slot.engine


def _build_engine() -> Engine | None:
    alias = conf.RESPONSE_CACHE
    if not alias:
        return None
    config = settings.CACHES.get(alias)
    if config is None:
        return None  # nexus_shop.E040 says so at start-up
    prefix = str(config.get("KEY_PREFIX", ""))
    backend = str(config.get("BACKEND", ""))
    location = config.get("LOCATION")
    store: Store
    if backend.endswith("RedisCache") and location:
        url = location if isinstance(location, str) else location[0]
        store = RedisStore(url.split(",")[0], prefix)
    else:
        store = DjangoCacheStore(alias, prefix)
    return Engine(store)


def reset_engine(**kwargs: Any) -> None:
    """Forget the engine (settings changed); the next request builds it again."""
    setting = str(kwargs.get("setting") or "")
    if (
        setting
        and setting not in ("CACHES", "ROOT_URLCONF")
        and not setting.startswith("NEXUS_SHOP_")
    ):
        return
    with _slot.lock:
        _slot.engine = None
        _slot.built = False


setting_changed.connect(reset_engine)


# Invalidation --------------------------------------------------------------------------------


def version_keys(change: invalidation.Change) -> list[str]:
    """The version keys a committed change bumps (see :mod:`nexus_shop.http_cache.store`)."""
    names = [f"p:{pk}" for pk in sorted(change.product_ids)]
    names += [f"c:{pk}" for pk in sorted(change.category_ids)]
    if change.membership or change.category_ids:
        names += ["plist", "cat"]
    return names


def on_change(change: invalidation.Change) -> None:
    """The invalidation listener: bump exactly what ``change`` touched (on commit)."""
    engine = get_engine()
    if engine is None:
        return
    if change.everything:
        if not engine.store.new_epoch():
            engine.store.invalidate([])  # keeps retrying the new epoch until Redis takes it
        return
    engine.store.invalidate(version_keys(change))


def drop_response_cache(cache: Any = None) -> None:
    """A recovery hook (:func:`nexus_shop.cache.on_recovery`): drop every stored response."""
    engine = get_engine()
    if engine is not None and not engine.store.new_epoch():
        raise RuntimeError("the response cache could not be re-versioned")


# HTTP headers --------------------------------------------------------------------------------


def surrogate_keys(
    *, kind: str, product_ids: Collection[int] = (), category_ids: Collection[int] = ()
) -> list[str]:
    keys = [kind]
    keys += [f"product-{pk}" for pk in product_ids]
    keys += [f"category-{pk}" for pk in category_ids]
    return list(dict.fromkeys(keys))


def purge_keys(change: invalidation.Change) -> list[str]:
    """The surrogate keys a CDN must purge for ``change``."""
    if change.everything:
        return ["catalogue"]
    keys = [f"product-{pk}" for pk in sorted(change.product_ids)]
    keys += [f"category-{pk}" for pk in sorted(change.category_ids)]
    if change.membership or change.category_ids:
        keys += ["product-list", "category-list"]
    return keys


def mark_public_read(
    request: HttpRequest,
    *,
    kind: str,
    product_ids: Collection[int] = (),
    category_ids: Collection[int] = (),
) -> None:
    """Called by the public read views: this response may be cached, and depends on these rows.

    ``kind`` is ``"product-list"``, ``"product-facets"``, ``"product-detail"``,
    ``"category-list"`` or ``"category-detail"``.
    """
    if kind in ("product-list", "product-facets"):
        deps = ["plist"]
    elif kind == "product-detail":
        deps = []
    else:
        deps = ["cat"]
    deps += [f"p:{pk}" for pk in product_ids]
    deps += [f"c:{pk}" for pk in category_ids]
    tags = ["catalogue"]
    if kind != "product-detail":
        tags.append("category-list" if kind.startswith("category") else "product-list")
    tags += surrogate_keys(kind=kind, product_ids=product_ids, category_ids=category_ids)[1:]
    request._nexus_shop_http_cache = {  # type: ignore[attr-defined]  # our own request attribute
        "deps": list(dict.fromkeys(deps)),
        "tags": list(dict.fromkeys(tags)),
    }


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
    ``no-store``; public reads marked by :func:`mark_public_read` are ``public`` for the
    anonymous and ``private`` otherwise; everything else is ``no-store`` (``private,
    no-store`` for a request with credentials) unless the view set its own header.
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
    """The 304 for ``response``: the same validators and caching headers, no body."""
    result = HttpResponse(status=304)
    kept = ("ETag", "Cache-Control", "Vary", "Surrogate-Key", "Surrogate-Control", "Cache-Tag")
    for name in kept:
        if response.has_header(name):
            result[name] = response[name]
    del result["Content-Type"]
    return result


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
