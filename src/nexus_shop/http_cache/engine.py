"""The configured response cache: its store, its routes, and the process's one instance.

Shared by the ASGI wrapper (:mod:`nexus_shop.http_cache.asgi`) and the WSGI middleware
(:mod:`nexus_shop.http_cache.middleware`). Imports nothing of the API at module level:
a host's ``asgi.py`` imports the wrapper before Django's settings are configured.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed

from nexus_shop import breaker, instruments, logs
from nexus_shop.conf import conf
from nexus_shop.http_cache.store import DjangoCacheStore, Entry, RedisStore, Snapshot, Store

if TYPE_CHECKING:
    from nexus_shop.http_cache.keys import Routes

logger = logging.getLogger("nexus_shop.http_cache")

ANNOTATION = "nexus_shop.http_cache"
"""Key under which a public read leaves its cache metadata in the ASGI scope / WSGI environ."""

WRAPPED = "nexus_shop.http_cache.wrapped"
"""Set in the ASGI scope by the wrapper, so the WSGI middleware (if also installed) stands by."""

READS_METHODS = frozenset({"GET", "HEAD"})
"""The methods the cache answers: a HEAD is answered as the GET would be, without the body
(RFC 9110 9.3.2); only a GET's answer fills an entry."""

EXCHANGE_HEADERS = frozenset(
    {
        "content-length",
        "date",
        "set-cookie",
        "server",
        "connection",
        "x-response-cache",
        "x-request-id",
    }
)
"""Response headers that belong to one exchange: a stored entry does not keep them (a hit
carries its own request's ``X-Request-ID``)."""

# The parameters of recent query strings up to this length are remembered (an LRU of this
# size per engine, on the read kind and query string: detail reads of many ids share one
# slot), so a hot read validates its parameters once, not on every hit; longer ones are
# rare and would let a client fill the memo with big strings.
MEMO_QUERY_LENGTH = 256
MEMO_SIZE = 1024


@dataclass(frozen=True)
class Lookup:
    """A request the cache may answer: its key, and what to check before answering."""

    key: str
    if_none_match: str | None
    kind: str
    """The read kind (its URL name, ``product-list``): the metrics' label."""
    operation_id: str


class Engine:
    """The configured response cache: the store, the routes, the settings it was built with."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.timeout = conf.RESPONSE_CACHE_TIMEOUT
        self._routes: Routes | None = None
        self._routes_lock = threading.Lock()
        # Built with the engine (first request), never at import: the keys import the API's
        # schemas, and a host's asgi.py imports the wrapper before settings are configured.
        from nexus_shop.http_cache.keys import entry_key, query_values
        from nexus_shop.http_cache.reads import READS

        self._operation_ids = {kind: read.operation_id for kind, read in READS.items()}
        self._entry_key = entry_key
        self._values = query_values
        self._memo_values = functools.lru_cache(maxsize=MEMO_SIZE)(query_values)

    def forget_queries(self) -> None:
        """Empty the memo of query parameters (any setting may change what they mean)."""
        self._memo_values.cache_clear()

    @property
    def routes(self) -> Routes:
        if self._routes is None:
            with self._routes_lock:
                if self._routes is None:
                    from nexus_shop.http_cache.keys import load_routes

                    namespace = conf.RESPONSE_CACHE_URL_NAMESPACE
                    self._routes = load_routes(namespace)
                    if not self._routes.list_paths and not self._routes.detail_patterns:
                        logger.warning(
                            "Response cache: no URLs named %r:product-list etc.; is the API "
                            "mounted? (NEXUS_SHOP_RESPONSE_CACHE_URL_NAMESPACE)",
                            namespace,
                        )
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
        found = self.routes.match(path)
        if found is None:
            return None
        kind, ident = found
        memo = len(query_string) <= MEMO_QUERY_LENGTH
        values = (self._memo_values if memo else self._values)(kind, query_string)
        if values is None:
            return None
        key = self._entry_key(kind=kind, ident=ident, scheme=scheme, values=values)
        return Lookup(
            key=key,
            if_none_match=headers.get("if-none-match"),
            kind=kind,
            operation_id=self._operation_ids[kind],
        )

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
            if lower not in EXCHANGE_HEADERS and not lower.startswith("access-control-"):
                kept.append((name, value))
        return Entry(
            seq=snapshot.seq,
            epoch=snapshot.epoch,
            deps=tuple(annotation["deps"]),
            headers=tuple(kept),
            etag=etag,
            body=body,
        )


LOOKUP_SPAN = "response_cache.lookup"
"""The trace span of a lookup (:mod:`nexus_shop.tracing`): read kind, operation, hit or miss."""


def note(lookup: Lookup, outcome: str) -> None:
    """Tell the request's log line and the metrics what the cache did: ``hit``,
    ``not_modified`` (a hit answered 304), ``miss`` or ``store``."""
    instruments.response_cache(lookup.kind, outcome)
    if outcome == "store":
        return
    state = logs.current()
    if state is not None:
        state.operation = lookup.operation_id
        state.cache = "miss" if outcome == "miss" else "hit"


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
        return None  # a system check says so at start-up
    prefix = str(config.get("KEY_PREFIX", ""))
    backend = str(config.get("BACKEND", ""))
    location = config.get("LOCATION")
    # The same RETRY_AFTER option as the cache backend's own breaker (nexus_shop.breaker).
    delay = breaker.retry_after(config.get("OPTIONS"))
    store: Store
    if backend.endswith("RedisCache") and location:
        url = location if isinstance(location, str) else location[0]
        store = RedisStore(url.split(",")[0], prefix, retry_after=delay)
    else:
        store = DjangoCacheStore(alias, prefix, retry_after=delay)
    return Engine(store)


def reset_engine(**kwargs: Any) -> None:
    """Forget the engine (settings changed); the next request builds it again.

    Any setting empties the engine's memo of query parameters, even one that keeps the
    engine: what a parameter means may depend on it.
    """
    engine = _slot.engine
    if engine is not None:
        engine.forget_queries()
    setting = str(kwargs.get("setting") or "")
    if (
        setting
        and setting not in ("CACHES", "ROOT_URLCONF", "DATA_UPLOAD_MAX_NUMBER_FIELDS")
        and not setting.startswith("NEXUS_SHOP_")
    ):
        return
    with _slot.lock:
        _slot.engine = None
        _slot.built = False


setting_changed.connect(reset_engine)
