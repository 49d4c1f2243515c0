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
  failure the backend skips Redis for ``RETRY_AFTER`` seconds (option, default 5; the
  breaker of :mod:`nexus_shop.breaker`, which the response cache uses too), so an outage
  costs one timeout per process every few seconds, not one per query. Any other error
  Redis answers with (``OOM`` when full, ``READONLY`` on a replica) is logged and fails
  open for that call only. ``incr``/``decr`` are the exception: they have no "miss" to
  answer with, so they raise and their caller decides; with the breaker open they raise
  at once, without a connection attempt.
* **No stale reads after a lost write.** A failing-open cache can still serve stale data:
  an invalidation (cachalot writes new table timestamps) that Redis refused or never got
  leaves the old entries alive. So a write that fails is followed by a ``DEL`` of the same
  keys (Redis allows ``DEL`` even at its memory limit, and a missing cachalot table key
  means "run the query"). If that fails too, or whenever the breaker has opened, the
  cache is *dirty*: reads answer "miss", and at recovery (before it is used again) the
  recovery hooks flush everything (:func:`on_recovery`; nexus_shop registers
  :func:`flush_cachalot` and the response cache's flush). ``set_many`` reports the keys it
  could not store, as Django's contract says.

Left: a process that saw no failure itself learns nothing of another's lost write; it
relies on the writer's ``DEL`` (Redis refusing writes) or on the flush the writer (or any
process) does at recovery, when Redis answers again (Redis unreachable).

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
from typing import Any, Literal, TypeVar

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.core.exceptions import ImproperlyConfigured

from nexus_shop.breaker import Breaker, retry_after

logger = logging.getLogger("nexus_shop.cache")

MISSING_REDIS = (
    "nexus_shop.cache.RedisCache needs the redis package, which is not installed: "
    'pip install "nexus-shop[redis]"'
)

_T = TypeVar("_T")

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()

DEFAULT_SOCKET_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}

RecoveryHook = Callable[["RedisCache"], None]
_recovery_hooks: list[RecoveryHook] = []


def on_recovery(hook: RecoveryHook) -> None:
    """Call ``hook(cache)`` at recovery, before a dirty cache is used again (once per hook).

    A hook flushes something stored in the cache (all of cachalot's tables, the response
    cache). Its cache calls raise on failure; if it raises, the cache stays dirty.
    """
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)


def flush_cachalot(cache: RedisCache) -> None:
    """Flush cachalot: give every table of every database a new cachalot timestamp in ``cache``.

    What ``cachalot.api.invalidate()`` does, written straight to this cache: no database
    query to list tables (the models know them) and no deferral inside a transaction.
    """
    try:
        from cachalot.settings import cachalot_settings
    except ImportError:  # cachalot is optional
        return
    from django.apps import apps
    from django.conf import settings

    keygen = cachalot_settings.CACHALOT_TABLE_KEYGEN
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    now = time.time()
    data = {keygen(alias, table): now for alias in settings.DATABASES for table in tables}
    failed = cache.set_many(data, cachalot_settings.CACHALOT_TIMEOUT)
    if failed:
        raise RuntimeError(f"{len(failed)} cachalot table keys not written")


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
        self.retry_after = retry_after(options)
        options.pop("RETRY_AFTER", None)
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

    # One breaker per server list, key prefix and delay, shared by the per-request instances
    # (Django builds one per thread or ASGI context). The key prefix is part of it because
    # the dirty flag means "the keys under this prefix may be stale", and the recovery hooks
    # flush those keys only.
    _breakers: dict[tuple[str, str, float], Breaker] = {}
    _breakers_lock = threading.Lock()
    _recovering = threading.local()

    @property
    def breaker(self) -> Breaker:
        """This cache's breaker (see :mod:`nexus_shop.breaker`)."""
        key = (",".join(self._servers), self.key_prefix, self.retry_after)
        breaker = self._breakers.get(key)
        if breaker is None:
            with self._breakers_lock:
                breaker = self._breakers.get(key)
                if breaker is None:
                    breaker = Breaker(
                        "cache-recovery",
                        lambda: self.ping() and self._recover(),
                        retry_after=self.retry_after,
                        cache="query_cache",
                    )
                    self._breakers[key] = breaker
        return breaker

    @property
    def is_available(self) -> bool:
        """False while the breaker is open after a recent connection failure."""
        return self.breaker.closed

    def _open_breaker(self, exc: BaseException) -> None:
        self.breaker.trip()
        logger.warning(
            "Redis unreachable (%s); serving without cache for %.1fs", exc, self.retry_after
        )

    @property
    def is_dirty(self) -> bool:
        """True until the recovery hooks have run after a breaker trip or a lost write."""
        return self.breaker.dirty

    def _recover(self) -> bool:
        """Run the recovery hooks if dirty; True when the cache may be used."""
        if not self.is_dirty:
            return True
        if getattr(self._recovering, "active", False):
            return True  # the hooks' own cache calls
        token = self.breaker.token()  # a failure after this is not covered by the flush
        self._recovering.active = True
        try:
            for hook in list(_recovery_hooks):
                hook(self)
        except Exception as exc:  # still failing: stay dirty, try again after the breaker
            logger.warning("Cache recovery failed (%s); staying without cache", exc)
            self.breaker.trip()
            return False
        finally:
            self._recovering.active = False
        if not self.breaker.flushed(token):
            return False  # a write failed meanwhile: still dirty, the thread retries
        logger.info("Cache flushed at recovery, after an outage or a lost write")
        return True

    def _guard(self, operation: Callable[[], _T], default: _T, *, force: bool = False) -> _T:
        forced = False
        if not self.is_available:
            if not force:
                return default
            forced = True  # an invalidation: try Redis even with the breaker open
        elif not self._recover():
            return default
        try:
            result = operation()
            if forced:  # Redis answered: close the breaker, flush what the outage left
                self.breaker.close()
                self._recover()
            return result
        except self._errors as exc:
            self._open_breaker(exc)
            if getattr(self._recovering, "active", False):
                raise  # a recovery hook must know it did not land
            return default
        except self._refusals as exc:
            logger.warning("Redis refused a cache operation (%s); serving without cache", exc)
            if getattr(self._recovering, "active", False):
                raise
            return default

    def _guard_write(
        self,
        keys: list[Any],
        version: int | None,
        operation: Callable[[], Any],
        *,
        delete_instead: bool = True,
        force: bool = False,
    ) -> bool:
        """Run a write; if it fails, delete ``keys`` instead, or mark the cache dirty."""
        marker = object()
        result = self._guard(operation, marker, force=force)
        if result is not marker:
            return True
        if not keys:
            return False
        if delete_instead and self.is_available and not getattr(self._recovering, "active", False):
            try:
                # DEL is allowed at maxmemory: the old values cannot outlive the failed write.
                super().delete_many(keys, version)
                return False
            except self._errors as exc:
                self._open_breaker(exc)
            except self._refusals as exc:
                logger.warning("Redis refused to delete keys it could not overwrite (%s)", exc)
        self.breaker.mark_dirty()
        return False

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
            self.breaker.close()
        return answered

    def probe(self) -> Literal["ok", "degraded", "down"]:
        """Ping, then write and delete a throwaway key, past the breaker (for ``/health``).

        "degraded" when Redis answers but refuses writes (``OOM`` at ``maxmemory`` with
        ``noeviction``, ``READONLY``): reads would work, invalidations would not.
        """
        if not self.ping():
            return "down"
        client = self._cache.get_client(write=True)
        key = self.make_and_validate_key("nexus_shop:health:probe")
        try:
            client.set(key, b"1", ex=5)
            client.delete(key)
        except self._errors as exc:
            self._open_breaker(exc)
            return "down"
        except self._refusals as exc:
            logger.warning("Redis refuses writes (%s)", exc)
            return "degraded"
        return "ok"

    def add(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> bool:
        added: list[bool] = []
        self._guard_write(
            [key],
            version,
            lambda: added.append(super(RedisCache, self).add(key, value, timeout, version)),
        )
        return bool(added and added[0])

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(lambda: super(RedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        self._guard_write(
            [key], version, lambda: super(RedisCache, self).set(key, value, timeout, version)
        )

    def touch(self, key: Any, timeout: Any = None, version: int | None = None) -> bool:
        return self._guard(lambda: super(RedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        deleted: list[bool] = []
        self._guard_write(
            [key],
            version,
            lambda: deleted.append(super(RedisCache, self).delete(key, version)),
            delete_instead=False,
        )
        return bool(deleted and deleted[0])

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._guard(lambda: super(RedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(RedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # incr() has no "miss" to fall back on: let the caller decide (the throttle fails open).
        # With the breaker open it raises at once rather than wait out a connect timeout.
        if not self.is_available:
            import redis

            raise redis.exceptions.ConnectionError("Redis breaker open; incr() not attempted")
        try:
            return super().incr(key, delta, version)
        except self._errors as exc:
            self._open_breaker(exc)
            raise

    def set_many(
        self, data: dict[Any, Any], timeout: Any = None, version: int | None = None
    ) -> list[Any]:
        """Store ``data``; the keys that could not be stored (all of them on a failure).

        A write of timestamps only is how cachalot invalidates tables: it is attempted even
        while the breaker is open (a skipped invalidation is a stale read in another
        process), at the price of one timeout per write during a real outage.
        """
        keys = list(data)
        invalidation = bool(data) and all(type(value) is float for value in data.values())
        stored = self._guard_write(
            keys,
            version,
            lambda: super(RedisCache, self).set_many(data, timeout, version),
            force=invalidation,
        )
        return [] if stored else keys

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        keys = list(keys)
        self._guard_write(
            keys,
            version,
            lambda: super(RedisCache, self).delete_many(keys, version),
            delete_instead=False,
        )

    def clear(self) -> None:
        self._guard(lambda: super(RedisCache, self).clear(), None)
