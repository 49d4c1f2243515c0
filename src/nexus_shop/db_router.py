"""Read replicas: a database router with read-your-writes, opt-in by ``NEXUS_SHOP_READ_REPLICAS``.

A host lists its replicas' ``DATABASES`` aliases and adds one line::

    NEXUS_SHOP_READ_REPLICAS = ["replica1"]
    DATABASE_ROUTERS = ["nexus_shop.db_router.ReplicaRouter"]

Django's stock answer (a router that sends every read to a replica, as Saleor's
``DATABASE_CONNECTION_REPLICA_NAME`` does) serves a client its own write stale while the
replica lags, and lets a response-cache miss store the old row under the new version.
This router knows when a write commits, because every catalogue write sends the one
on-commit notice (:mod:`nexus_shop.invalidation`), and sends a read to a replica only when
that replica has replayed far enough:

- writes and locking reads (``select_for_update``: checkout, ``If-Match`` checks, slug
  locks, idempotency) go to the primary (Django routes a ``select_for_update`` queryset
  through :meth:`ReplicaRouter.db_for_write`); so does every read made while a transaction
  is open on the primary in this thread, and every read of the purchase tables
  (:data:`nexus_shop.conf.PURCHASE_TABLES`: carts, orders, idempotency, the outbox), which
  are one client's own state, locked and rewritten on most requests;
- on commit of a catalogue change, :func:`on_change` records ``pg_current_wal_lsn()`` in
  Redis under the writing client (:func:`client`) for :data:`PIN_SECONDS`, and as the
  global "last invalidating commit";
- a read by that client goes to a replica only if the replica's
  ``pg_last_wal_replay_lsn()`` is at least the client's LSN; a response-cache miss
  (:func:`filling_cache`) needs the global LSN. Otherwise the primary answers.
- a replica that cannot be asked is left alone for :data:`DOWN_SECONDS`.

The replay LSN only grows, so a value read a moment ago is a safe lower bound: each
process asks a replica at most once per :data:`PROBE_SECONDS`, and again only when the
remembered value is too low for the read at hand.

Without a Redis cache (``NEXUS_SHOP_READ_REPLICA_CACHE`` is not a Redis backend, or
Redis is down) the LSNs are kept in this process only: a client who wrote through this
process still reads its write; through another process it may not, and a response-cache
miss reads the primary.

Models of other apps are not routed (``None``: the host's own routers or ``default``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterator
from typing import Any, Final

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model

from nexus_shop.conf import PURCHASE_TABLES, conf
from nexus_shop.invalidation import Change

logger = logging.getLogger("nexus_shop.db_router")

APP_LABEL: Final = "nexus_shop"
# How long a client stays pinned to what it wrote: longer than any lag a shop should
# tolerate before it notices; past it, the client may read from a replica that still lags.
PIN_SECONDS: Final = 60
# How often a process asks a replica how far it has replayed (when that is not enough
# for the read at hand it asks again at once).
PROBE_SECONDS: Final = 0.1
# How long a replica that failed to answer is left alone.
DOWN_SECONDS: Final = 5.0
GLOBAL_KEY: Final = "nexus_shop:replicas:last_commit_lsn"
CLIENT_KEY: Final = "nexus_shop:replicas:client:{}"

# The request's client (a hash of its credentials or cart token), and whether the request
# is filling a response-cache entry. Set by :class:`ReplicaMiddleware` / the cache.
_client: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nexus_shop_replica_client", default=None
)
_filling: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "nexus_shop_replica_filling", default=False
)
# What a request already learnt (LSNs it needs), so it asks Redis once.
_needed: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "nexus_shop_replica_needed", default=None
)

_lock = threading.Lock()
_local_lsns: dict[str, tuple[int, float]] = {}  # key -> (lsn, expiry): without Redis
_replayed: dict[str, tuple[int, float]] = {}  # alias -> (replay lsn, asked at)
_down_until: dict[str, float] = {}


def parse_lsn(text: str | None) -> int:
    """``"16/B374D848"`` as an integer (0 for ``None``)."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def client_identity(*, authorization: str = "", cart_token: str = "") -> str | None:
    """Whom a request speaks for: a hash of its ``Authorization`` header, else its cart token.

    Only routing uses it (a forged one sends someone's reads to the primary, no more), so
    it need not be verified, and hashing keeps credentials out of Redis.
    """
    raw = authorization or (f"cart:{cart_token}" if cart_token else "")
    if not raw:
        return None
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@contextlib.contextmanager
def client(identity: str | None) -> Iterator[None]:
    """Route this block's reads for ``identity`` (see :func:`client_identity`)."""
    token = _client.set(identity)
    needed = _needed.set(None)
    try:
        yield
    finally:
        _needed.reset(needed)
        _client.reset(token)


@contextlib.contextmanager
def filling_cache() -> Iterator[None]:
    """This block computes an answer the response cache will store: read a replica only
    if it has replayed past the last invalidating commit."""
    token = _filling.set(True)
    needed = _needed.set(None)
    try:
        yield
    finally:
        _needed.reset(needed)
        _filling.reset(token)


# --- where the LSNs are kept -------------------------------------------------------------


def _redis() -> tuple[Any, Any] | None:
    """The LSN cache's Redis client and the cache (for its key prefix), or None."""
    try:
        cache = caches[conf.READ_REPLICA_CACHE]
    except Exception:  # an unknown alias: nexus_shop.E080 reports it
        return None
    inner = getattr(cache, "_cache", None)
    if not isinstance(cache, DjangoRedisCache) or inner is None:
        return None
    return inner.get_client(write=True), cache


# Keep the larger of the stored and the new LSN: two commits' notices can arrive in
# either order, and the record must never go back.
_MAX_SCRIPT: Final = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[1])
  end
end
return 1
"""


def _local_record(key: str, lsn: int, ttl: int) -> None:
    expiry = time.monotonic() + ttl if ttl else float("inf")
    with _lock:
        old, _ = _local_lsns.get(key, (0, 0.0))
        _local_lsns[key] = (max(old, lsn), expiry)


def _local_get(key: str) -> int:
    with _lock:
        lsn, expiry = _local_lsns.get(key, (0, 0.0))
    return lsn if expiry > time.monotonic() else 0


def _record(key: str, lsn: int, ttl: int) -> None:
    _local_record(key, lsn, ttl)
    found = _redis()
    if found is None:
        return
    redis, cache = found
    try:
        redis.eval(_MAX_SCRIPT, 1, cache.make_key(key), lsn, ttl)
    except Exception:  # Redis down: this process still knows (see the module's docstring)
        logger.warning("could not record a commit LSN in Redis", exc_info=True)


def _needed_lsn() -> int | None:
    """The LSN this read needs a replica to have replayed; None means "use the primary"."""
    known = _needed.get()
    if known is not None:
        return known
    keys = []
    identity = _client.get()
    if identity is not None:
        keys.append(CLIENT_KEY.format(identity))
    if _filling.get():
        keys.append(GLOBAL_KEY)
    need = max((_local_get(key) for key in keys), default=0)
    if keys:
        found = _redis()
        if found is None:
            if _filling.get():
                return None  # no shared record of the last commit: fill from the primary
        else:
            redis, cache = found
            try:
                values = redis.mget([cache.make_key(key) for key in keys])
            except Exception:
                return None  # cannot tell what this client wrote: the primary is exact
            need = max([need, *(int(value) for value in values if value is not None)])
    _needed.set(need)
    return need


def on_change(change: Change) -> None:
    """Invalidation listener: record the commit's LSN for its client and globally.

    Connected before the response cache's listener, so the global LSN is recorded before
    the cache versions move: a miss that saw the new versions sees this LSN too.
    """
    if not conf.READ_REPLICAS or connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        lsn = parse_lsn(cursor.fetchone()[0])
    _record(GLOBAL_KEY, lsn, 0)
    identity = _client.get()
    if identity is not None:
        _record(CLIENT_KEY.format(identity), lsn, PIN_SECONDS)
    _needed.set(None)


# --- replicas ---------------------------------------------------------------------------


def _replay_lsn(alias: str, *, fresh: bool) -> int | None:
    """How far ``alias`` has replayed (None: it is down or not a replica)."""
    now = time.monotonic()
    if _down_until.get(alias, 0.0) > now:
        return None
    known = _replayed.get(alias)
    if known is not None and not fresh and now - known[1] < PROBE_SECONDS:
        return known[0]
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
            row = cursor.fetchone()
    except DatabaseError:
        logger.warning("read replica %r did not answer; using the primary", alias)
        _down_until[alias] = now + DOWN_SECONDS
        _replayed.pop(alias, None)
        with contextlib.suppress(DatabaseError):
            connections[alias].close()
        return None
    if row is None or row[0] is None:
        return None  # not in recovery: not a replica (a misconfiguration); keep off it
    lsn = parse_lsn(row[0])
    _replayed[alias] = (lsn, now)
    return lsn


def replica_for(need: int) -> str | None:
    """A replica that has replayed ``need``, or None."""
    aliases = list(conf.READ_REPLICAS)
    random.shuffle(aliases)  # load spreading, not security
    for alias in aliases:
        lsn = _replay_lsn(alias, fresh=False)
        if lsn is not None and lsn < need:
            lsn = _replay_lsn(alias, fresh=True)
        if lsn is not None and lsn >= need:
            return alias
    return None


def forget() -> None:
    """Drop what this process remembers, and the global LSN in Redis (tests only)."""
    with _lock:
        _local_lsns.clear()
    found = _redis()
    if found is not None:
        redis, cache = found
        redis.delete(cache.make_key(GLOBAL_KEY))
    _replayed.clear()
    _down_until.clear()


def choose_read_database() -> str:
    """Where a nexus_shop catalogue read goes now."""
    if not conf.READ_REPLICAS or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    need = _needed_lsn()
    if need is None:
        return DEFAULT_DB_ALIAS
    return replica_for(need) or DEFAULT_DB_ALIAS


class ReplicaRouter:
    """``DATABASE_ROUTERS = ["nexus_shop.db_router.ReplicaRouter"]`` (see the module)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if model._meta.app_label != APP_LABEL:
            return None
        if model._meta.db_table in PURCHASE_TABLES:
            return DEFAULT_DB_ALIAS
        return choose_read_database()

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS if model._meta.app_label == APP_LABEL else None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # A replica holds the primary's rows: an object read from one may point at one
        # read from the other.
        labels = {obj1._meta.app_label, obj2._meta.app_label}
        return True if APP_LABEL in labels else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db in conf.READ_REPLICAS else None


class ReplicaMiddleware:
    """Notes whom the request speaks for, for :class:`ReplicaRouter` (sync and async).

    Near the top of ``MIDDLEWARE``, after the response cache's middleware.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction

        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    @staticmethod
    def _identity(request: Any) -> str | None:
        return client_identity(
            authorization=request.headers.get("Authorization", ""),
            cart_token=request.headers.get("X-Cart-Token", ""),
        )

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        with client(self._identity(request)):
            return self.get_response(request)

    async def __acall__(self, request: Any) -> Any:
        with client(self._identity(request)):
            return await self.get_response(request)
