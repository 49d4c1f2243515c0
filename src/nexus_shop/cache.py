"""A Redis cache backend for hosts of nexus_shop: shared connection pools, and fail-open.

Use it in ``CACHES`` in place of ``django.core.cache.backends.redis.RedisCache``::

    CACHES = {"default": {"BACKEND": "nexus_shop.cache.RedisCache", "LOCATION": REDIS_URL}}

It fixes two things that bite a Django API served under ASGI with django-cachalot:

* **One pool per process.** Django creates a cache object per request context under
  ASGI, and the stock client keeps its connection pool on that object, so every request
  opens a new TCP connection to Redis. Here pools are shared by every instance with the
  same servers and options.
* **Fail-open.** With Redis unreachable the stock backend raises, and cachalot turns that
  into a 500 on every query. Here a connection error or timeout is logged, reads answer
  "miss" and writes are dropped, so the API keeps serving from the database. After a
  failure the backend skips Redis for ``RETRY_AFTER`` seconds (option, default 5), so an
  outage costs one timeout per process every few seconds, not one per query. Any other
  error Redis answers with (``OOM`` when full, ``READONLY`` on a replica) is logged and
  fails open for that call only. ``incr``/``decr`` are the exception: they have no "miss"
  to answer with, so they raise and their caller decides.

Caveat: an invalidation that cachalot could not write while Redis was unreachable is
lost. If Redis kept its data through the outage, cached queries may be stale until they
expire, so keep ``CACHALOT_TIMEOUT`` bounded. A Redis without persistence (as in the
example project) restarts empty and has no such window.

Why extend Django's backend rather than use django-redis: cachalot and Django already
speak to Django's own client, and what was missing from it is narrow (pool sharing under
ASGI, where each request context builds a new cache object, and fail-open with a breaker);
django-redis would add a second client stack, and its ``IGNORE_EXCEPTIONS`` fail-open has
no breaker, so an outage would cost a connection timeout on every query.

``redis`` must be installed (``pip install nexus-shop[redis]``); this module imports it
only when the backend is built.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("nexus_shop.cache")

MISSING_REDIS = (
    "nexus_shop.cache.RedisCache needs the redis package, which is not installed: "
    'pip install "nexus-shop[redis]"'
)

_T = TypeVar("_T")

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()

DEFAULT_SOCKET_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


class SharedPoolRedisCacheClient(RedisCacheClient):
    """Django's client, but connection pools live at module level, one per server and options."""

    # Set by Django's RedisCacheClient; django-stubs does not declare these private members.
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]
    _get_connection_pool_index: Callable[[bool], int]

    def _get_connection_pool(self, write: bool) -> Any:
        index = self._get_connection_pool_index(write)
        server = self._servers[index]
        key = (
            server,
            repr((self._pool_class, sorted(self._pool_options.items(), key=lambda item: item[0]))),
        )
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = self._pool_class.from_url(server, **self._pool_options)
                    _pools[key] = pool
        return pool


class RedisCache(DjangoRedisCache):
    """Django's ``RedisCache`` with shared pools and fail-open behaviour (see the module doc)."""

    _servers: list[str]  # set by Django's RedisCache; not declared by django-stubs

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 5.0))
        for name, value in DEFAULT_SOCKET_OPTIONS.items():
            options.setdefault(name, value)
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
        try:
            import redis
        except ImportError as error:  # the optional extra is missing: say which one
            raise ImproperlyConfigured(MISSING_REDIS) from error

        # Redis is unreachable: open the breaker.
        self._errors: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        )
        # Redis answered with an error (OOM, READONLY...): fail open for this call only.
        self._refusals: tuple[type[BaseException], ...] = (redis.exceptions.RedisError,)

    # One breaker per server list, shared across the per-request instances.
    _breakers: dict[str, float] = {}

    @property
    def _breaker_key(self) -> str:
        return ",".join(self._servers)

    @property
    def is_available(self) -> bool:
        """False while the breaker is open after a recent connection failure."""
        return time.monotonic() >= self._breakers.get(self._breaker_key, 0.0)

    def _open_breaker(self, exc: BaseException) -> None:
        self._breakers[self._breaker_key] = time.monotonic() + self.retry_after
        logger.warning(
            "Redis unreachable (%s); serving without cache for %.1fs", exc, self.retry_after
        )

    def _guard(self, operation: Callable[[], _T], default: _T) -> _T:
        if not self.is_available:
            return default
        try:
            return operation()
        except self._errors as exc:
            self._open_breaker(exc)
            return default
        except self._refusals as exc:
            logger.warning("Redis refused a cache operation (%s); serving without cache", exc)
            return default

    def ping(self) -> bool:
        """Ask Redis directly, bypassing the breaker. Used by the health endpoint.

        A successful ping closes the breaker (the cache is used again at once); an
        unreachable Redis opens it.
        """
        try:
            answered = bool(self._cache.get_client(write=True).ping())
        except self._errors as exc:
            self._open_breaker(exc)
            return False
        except self._refusals as exc:
            logger.warning("Redis ping failed (%s)", exc)
            return False
        if answered:
            self._breakers.pop(self._breaker_key, None)
        return answered

    def add(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        return self._guard(lambda: super(RedisCache, self).add(key, value, timeout, version), False)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(lambda: super(RedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        self._guard(lambda: super(RedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = None, version: int | None = None) -> bool:
        return self._guard(lambda: super(RedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(RedisCache, self).delete(key, version), False)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._guard(lambda: super(RedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(RedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # incr() has no "miss" to fall back on: let the caller decide (the throttle fails open).
        return super().incr(key, delta, version)

    def set_many(
        self, data: dict[Any, Any], timeout: Any = None, version: int | None = None
    ) -> list[Any]:
        return self._guard(lambda: super(RedisCache, self).set_many(data, timeout, version), [])

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._guard(lambda: super(RedisCache, self).delete_many(keys, version), None)

    def clear(self) -> None:
        self._guard(lambda: super(RedisCache, self).clear(), None)
