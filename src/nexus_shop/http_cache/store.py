"""Where the response cache keeps its entries and the stamps that make them exact.

Layout (every key under one prefix, ``<KEY_PREFIX>:nexus_shop:rc2:``):

``seq``
    A counter, incremented once by every committed catalogue change.
``epoch``
    A random token. Replacing it flushes the store: every entry is unusable at once (after
    a bulk load, and at recovery after Redis was unreachable or refused a write).
``product-list`` / ``category-list`` / ``product-<id>`` / ``category-<id>``
    Stamps: the ``seq`` value of the last change to product-list membership, to anything
    a category response shows, to product ``<id>``, to category ``<id>``. The names are
    the dependency names of :mod:`nexus_shop.http_cache.deps`, the same strings as the
    CDN's surrogate keys. Written with the ``seq`` increment in one Lua script, so they
    never go backwards.
``e:<hash>``
    An entry: the response, the ``seq`` and ``epoch`` read *before* the database was
    queried, and the names of the stamps it depends on.

The prefix was ``nexus_shop:rc:`` until the stamps took the CDN's names (they were
``plist``, ``cat``, ``p:<id>``, ``c:<id>``): an entry stored under the old prefix
depends on names nothing bumps any more, so the new prefix makes sure it is never read.
Old keys expire on their own (entries) or can be deleted with ``nexus_shop:rc:*``.

An entry is fresh when its epoch is current and none of its stamps is newer than
its ``seq``. Reading ``seq`` before the query makes this exact: a write that commits
while the response is being built has a larger ``seq``, so the entry is stale at once.
A hit is one ``MGET`` (entry, ``seq``, ``epoch``) when nothing changed since the entry
was stored, and one more ``MGET`` of its stamps otherwise.

Stamps have no expiry; entries do. Use a ``maxmemory-policy`` of ``noeviction`` or
``volatile-*`` (never ``allkeys-*``), so Redis never evicts a stamp while an entry
that depends on it lives.

Failures: any Redis error trips the breaker of :mod:`nexus_shop.breaker`, the one the
cache backend uses too (reads and writes skip Redis for ``RETRY_AFTER`` seconds, the API
answers from the database). A failed invalidation, or the breaker closing again, flushes
the store (:meth:`Store.flush`: a new ``epoch``) before any entry is served again. One
request flushes at a time; the others meanwhile answer from the database, uncached.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nexus_shop.breaker import RETRY_AFTER, Breaker

logger = logging.getLogger("nexus_shop.http_cache")

KEY_PREFIX = "nexus_shop:rc2:"
"""Under the cache's own ``KEY_PREFIX``; see the module doc for why it is ``rc2``."""

SOCKET_TIMEOUT = 0.5

# KEYS[1] = seq, KEYS[2..] = stamps to set to the new seq. Returns the new seq.
_BUMP_LUA = """
local n = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], n) end
return n
"""


@dataclass(frozen=True)
class Snapshot:
    """``seq`` and ``epoch`` as read before a miss goes to the database."""

    seq: int
    epoch: str


@dataclass(frozen=True)
class Entry:
    """A stored response."""

    seq: int
    epoch: str
    deps: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    etag: str
    body: bytes

    def encode(self) -> bytes:
        meta = {
            "s": self.seq,
            "e": self.epoch,
            "d": list(self.deps),
            "h": [list(h) for h in self.headers],
            "t": self.etag,
        }
        return json.dumps(meta, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Entry | None:
        head, sep, body = raw.partition(b"\n")
        if not sep:
            return None
        try:
            meta = json.loads(head)
            return cls(
                seq=int(meta["s"]),
                epoch=str(meta["e"]),
                deps=tuple(meta["d"]),
                headers=tuple((str(k), str(v)) for k, v in meta["h"]),
                etag=str(meta["t"]),
                body=body,
            )
        except (ValueError, KeyError, TypeError):
            return None


def _int(value: Any) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 62  # unreadable: newer than anything, so the entry is stale


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _unreachable(exc: BaseException) -> bool:
    """A connection failure or timeout (as opposed to an error Redis answered with)."""
    try:
        import redis
    except ImportError:  # only the Django-cache store runs without redis-py
        return isinstance(exc, OSError)
    return isinstance(
        exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError
    )


class Store:
    """The interface both stores implement; see the module doc for what the keys mean."""

    breaker: Breaker

    def __init__(self, prefix: str, *, retry_after: float = RETRY_AFTER) -> None:
        self.prefix = f"{prefix}:{KEY_PREFIX}" if prefix else KEY_PREFIX
        self.breaker = Breaker(
            "rc-flush", self.flush, retry_after=retry_after, cache="response_cache"
        )
        # One flush at a time from the request path: while dirty, the request that takes
        # it flushes; the others answer from the database rather than queue for Redis.
        self._flushing = threading.Lock()

    def _trip(self, exc: BaseException) -> None:
        self.breaker.trip()
        logger.warning(
            "Response cache unavailable (%s); serving from the database for %.1fs",
            exc,
            self.breaker.retry_after,
        )

    def k(self, name: str) -> str:
        return self.prefix + name

    # Implemented by each store -------------------------------------------------------------

    def _mget(self, keys: Sequence[str]) -> list[Any]:
        raise NotImplementedError

    async def _amget(self, keys: Sequence[str]) -> list[Any]:
        raise NotImplementedError

    def _set(self, key: str, value: bytes | str, ttl: int | None) -> None:
        raise NotImplementedError

    async def _aset(self, key: str, value: bytes, ttl: int) -> None:
        raise NotImplementedError

    def _setnx(self, key: str, value: str) -> None:
        raise NotImplementedError

    async def _asetnx(self, key: str, value: str) -> None:
        raise NotImplementedError

    def _bump(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections held for the running event loop (nothing to do here)."""

    # Reads -----------------------------------------------------------------------------------

    def _usable(self) -> bool:
        if not self.breaker.closed:
            return False
        if self.breaker.dirty:
            if not self._flushing.acquire(blocking=False):
                return False  # another request is flushing: uncached meanwhile
            try:
                return self.flush()
            finally:
                self._flushing.release()
        return True

    async def _ausable(self) -> bool:
        if not self.breaker.closed:
            return False
        if self.breaker.dirty:
            if not self._flushing.acquire(blocking=False):
                return False  # same
            try:
                return await asyncio.to_thread(self.flush)
            finally:
                self._flushing.release()
        return True

    def _judge(self, raw: list[Any]) -> tuple[Entry | None, Snapshot | None, list[str]]:
        """(entry if fresh on the first look, snapshot for a miss, deps still to check)."""
        raw_entry, seq, epoch = raw
        epoch_text = _text(epoch)
        snapshot = Snapshot(_int(seq), epoch_text) if epoch_text else None
        if raw_entry is None or epoch_text is None:
            return None, snapshot, []
        entry = Entry.decode(raw_entry if isinstance(raw_entry, bytes) else raw_entry.encode())
        if entry is None or entry.epoch != epoch_text:
            return None, snapshot, []
        if entry.seq == _int(seq):
            return entry, snapshot, []
        return entry, snapshot, [self.k(d) for d in entry.deps]

    def lookup(self, key: str) -> tuple[Entry | None, Snapshot | None]:
        """A fresh entry, or ``None`` and the snapshot to store a miss with (``None``: don't)."""
        if not self._usable():
            return None, None
        try:
            raw = self._mget([self.k(key), self.k("seq"), self.k("epoch")])
            entry, snapshot, deps = self._judge(raw)
            if snapshot is None:
                self._setnx(self.k("epoch"), os.urandom(8).hex())
                return None, None
            if entry is not None and deps:
                versions = self._mget(deps)
                if any(_int(v) > entry.seq for v in versions):
                    entry = None
        except Exception as exc:  # any store failure: fail open, to the database
            self._trip(exc)
            return None, None
        return entry, snapshot

    async def alookup(self, key: str) -> tuple[Entry | None, Snapshot | None]:
        if not await self._ausable():
            return None, None
        try:
            raw = await self._amget([self.k(key), self.k("seq"), self.k("epoch")])
            entry, snapshot, deps = self._judge(raw)
            if snapshot is None:
                await self._asetnx(self.k("epoch"), os.urandom(8).hex())
                return None, None
            if entry is not None and deps:
                versions = await self._amget(deps)
                if any(_int(v) > entry.seq for v in versions):
                    entry = None
        except Exception as exc:  # any store failure: fail open, to the database
            self._trip(exc)
            return None, None
        return entry, snapshot

    # Writes ----------------------------------------------------------------------------------

    def store(self, key: str, entry: Entry, ttl: int) -> None:
        if not self.breaker.closed or self.breaker.dirty:
            return
        try:
            self._set(self.k(key), entry.encode(), ttl)
        except Exception as exc:  # a refused write (OOM...) loses one entry, nothing more
            logger.warning("Response cache refused an entry (%s)", exc)

    async def astore(self, key: str, entry: Entry, ttl: int) -> None:
        if not self.breaker.closed or self.breaker.dirty:
            return
        try:
            await self._aset(self.k(key), entry.encode(), ttl)
        except Exception as exc:  # same
            logger.warning("Response cache refused an entry (%s)", exc)

    def invalidate(self, names: Iterable[str]) -> None:
        """Bump ``seq`` and set the stamps ``names`` to it. Never raises.

        If Redis cannot take it, the store is flushed as soon as it can be (the breaker's
        thread retries), and until then this process serves nothing from the cache.
        """
        keys = [self.k("seq"), *(self.k(n) for n in names)]
        # Tried even with the breaker open: a skipped invalidation is a stale read elsewhere.
        try:
            self._bump(keys)
        except Exception as exc:  # an invalidation that did not land: flush
            self._trip(exc)
            if not _unreachable(exc):
                self.flush()  # Redis refuses writes but still deletes: the epoch goes now
        else:
            if self.breaker.dirty:
                self.flush()  # back after an outage: flush what it may have left stale

    def flush(self) -> bool:
        """Make every entry unusable: a new epoch, or none at all. True if the store is clean.

        When Redis refuses the write (``OOM`` at ``maxmemory``), the epoch is deleted
        instead: ``DEL`` is still allowed, and without an epoch nothing is served. When it
        takes neither, or a failure came while it ran (a lost invalidation the new epoch
        may not cover), the store stays dirty and the breaker's thread tries again.
        """
        token = self.breaker.token()
        try:
            self._set(self.k("epoch"), os.urandom(8).hex(), None)
        except Exception as exc:  # unreachable, or refusing writes
            if _unreachable(exc):
                self._trip(exc)
                return False
            try:
                self._delete(self.k("epoch"))
            except Exception as exc2:  # not even a DEL: stay dirty
                self._trip(exc2)
                return False
        if not self.breaker.flushed(token):
            return False
        logger.info("Response cache flushed (new epoch)")
        return True


class RedisStore(Store):
    """Redis through redis-py: one sync client and one asyncio client per event loop."""

    def __init__(self, url: str, prefix: str, *, retry_after: float = RETRY_AFTER) -> None:
        super().__init__(prefix, retry_after=retry_after)
        import redis

        self.url = url
        self.client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
        self._bump_script = self.client.register_script(_BUMP_LUA)
        self._aclients: dict[int, Any] = {}

    def _aclient(self) -> Any:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._aclients.get(id(loop))
        if client is None:
            client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
            )
            self._aclients = {id(loop): client}  # one loop per process in practice
        return client

    async def aclose(self) -> None:
        """Close this event loop's asyncio client (a server's shutdown, a test's end)."""
        client = self._aclients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.aclose()

    def _mget(self, keys: Sequence[str]) -> list[Any]:
        return list(self.client.mget(keys))

    async def _amget(self, keys: Sequence[str]) -> list[Any]:
        return list(await self._aclient().mget(keys))

    def _set(self, key: str, value: bytes | str, ttl: int | None) -> None:
        self.client.set(key, value, ex=ttl)

    async def _aset(self, key: str, value: bytes, ttl: int) -> None:
        await self._aclient().set(key, value, ex=ttl)

    def _setnx(self, key: str, value: str) -> None:
        self.client.set(key, value, nx=True)

    async def _asetnx(self, key: str, value: str) -> None:
        await self._aclient().set(key, value, nx=True)

    def _bump(self, keys: Sequence[str]) -> None:
        self._bump_script(keys=list(keys))

    def _delete(self, key: str) -> None:
        self.client.delete(key)


class DjangoCacheStore(Store):
    """Any Django cache backend (local memory, memcached...): exact within one process only.

    Each process of a multi-process server has its own local-memory cache and sees only
    its own invalidations; use Redis (:class:`RedisStore`) for more than one process.
    """

    def __init__(self, alias: str, prefix: str, *, retry_after: float = RETRY_AFTER) -> None:
        super().__init__(prefix, retry_after=retry_after)
        self.alias = alias
        self._lock = threading.Lock()

    @property
    def cache(self) -> Any:
        from django.core.cache import caches

        return caches[self.alias]

    def _mget(self, keys: Sequence[str]) -> list[Any]:
        found = self.cache.get_many(keys)
        return [found.get(k) for k in keys]

    async def _amget(self, keys: Sequence[str]) -> list[Any]:
        return self._mget(keys)

    def _set(self, key: str, value: bytes | str, ttl: int | None) -> None:
        self.cache.set(key, value, timeout=ttl)

    async def _aset(self, key: str, value: bytes, ttl: int) -> None:
        self._set(key, value, ttl)

    def _setnx(self, key: str, value: str) -> None:
        self.cache.add(key, value, timeout=None)

    async def _asetnx(self, key: str, value: str) -> None:
        self._setnx(key, value)

    def _bump(self, keys: Sequence[str]) -> None:
        with self._lock:
            seq, *names = keys
            self.cache.add(seq, 0, timeout=None)
            n = self.cache.incr(seq)
            if names:
                self.cache.set_many(dict.fromkeys(names, n), timeout=None)

    def _delete(self, key: str) -> None:
        self.cache.delete(key)
