"""The response cache's Redis store on a private redis-server: freshness, faults, recovery."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
import redis

from nexus_shop.http_cache import deps
from nexus_shop.http_cache.store import Entry, RedisStore, Snapshot
from tests.support.redis_server import RedisServer, running_redis


def _entry(snapshot: Snapshot, deps: tuple[str, ...], body: bytes = b"{}") -> Entry:
    return Entry(
        seq=snapshot.seq,
        epoch=snapshot.epoch,
        deps=deps,
        headers=(("Content-Type", "application/json"),),
        etag='"x"',
        body=body,
    )


def _stored(store: RedisStore, key: str, deps: tuple[str, ...], body: bytes = b"{}") -> None:
    store.lookup(key)  # the first lookup on an empty Redis sets the epoch
    entry, snapshot = store.lookup(key)
    assert entry is None
    assert snapshot is not None
    store.store(key, _entry(snapshot, deps, body), 60)


def test_fresh_until_a_dependency_changes(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, "t")
    _stored(store, "e:detail", (deps.product(1), deps.category(7)))
    assert store.lookup("e:detail")[0] is not None
    store.invalidate([deps.product(2)])  # another product: one more round trip, still fresh
    assert store.lookup("e:detail")[0] is not None
    store.invalidate([deps.category(7)])
    assert store.lookup("e:detail")[0] is None


def test_a_write_during_the_miss_makes_the_entry_stale(redis_server: RedisServer) -> None:
    """The version is read before the database: a write in between is never hidden."""
    store = RedisStore(redis_server.url, "t")
    store.lookup("e:x")
    _, snapshot = store.lookup("e:x")  # the miss reads seq, then "queries the database"
    assert snapshot is not None
    store.invalidate([deps.product(1)])  # a write commits meanwhile
    store.store("e:x", _entry(snapshot, (deps.product(1),), b"old"), 60)
    assert store.lookup("e:x")[0] is None


def _calls(server: RedisServer, command: str) -> int:
    """How many times the server has run ``command`` (``INFO commandstats``)."""
    stats = server.raw().info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def test_redis_down_fails_open_and_a_lost_invalidation_flushes_everything() -> None:
    with running_redis() as server:
        store = RedisStore(server.url, "t", retry_after=0.2)
        _stored(store, "e:list", (deps.PRODUCT_LIST, deps.product(1)), b"old")
        other = RedisStore(server.url, "t")  # another process
        assert other.lookup("e:list")[0] is not None
        reads = _calls(server, "mget")

        server.pause()  # frozen: the entry survives, the invalidation cannot land
        try:
            store.invalidate([deps.product(1)])  # times out once, and trips the breaker
            assert store.breaker.dirty
            assert not store.breaker.closed
            assert store.lookup("e:list") == (None, None)  # breaker open: straight to the DB
        finally:
            server.resume()
        # Commands sent to the frozen server run when it resumes: the lookup sent none.
        assert _calls(server, "mget") == reads
        # The writer flushes in the background as soon as Redis answers again.
        assert store.breaker.wait_clean(timeout=30)
        assert other.lookup("e:list")[0] is None  # the old entry is gone for everyone


def test_the_retry_delay_is_the_cache_backends(redis_server: RedisServer) -> None:
    """One rule for both caches: the same default, from nexus_shop.breaker."""
    from nexus_shop.breaker import RETRY_AFTER
    from nexus_shop.cache import RedisCache

    assert RedisStore(redis_server.url, "t").breaker.retry_after == RETRY_AFTER
    assert RedisCache(redis_server.url, {}).retry_after == RETRY_AFTER


def test_redis_refusing_writes_deletes_the_epoch() -> None:
    with running_redis() as server:
        store, other = RedisStore(server.url, "t"), RedisStore(server.url, "t")
        _stored(store, "e:detail", (deps.product(1),), b"old")
        raw = server.raw()
        for n in range(40):
            raw.set(f"junk:{n}", b"x" * 65536)
        raw.config_set("maxmemory-policy", "noeviction")
        raw.config_set("maxmemory", "1mb")
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            raw.set("more", b"x")
        store.invalidate([deps.product(1)])  # INCR refused: OOM
        assert raw.get(store.k("epoch")) is None  # but DEL was allowed
        assert other.lookup("e:detail")[0] is None


class _RacedStore(RedisStore):
    """A store where something happens right after the flush has written the new epoch."""

    def __init__(self, url: str, prefix: str, after_epoch: Callable[[], None]) -> None:
        super().__init__(url, prefix, retry_after=60)
        self.after_epoch = after_epoch
        self.epochs_written = 0

    def _set(self, key: str, value: bytes | str, ttl: int | None) -> None:
        super()._set(key, value, ttl)
        if key == self.k("epoch"):
            self.epochs_written += 1
            self.after_epoch()


def _dirty_but_closed(store: RedisStore) -> None:
    store.breaker.trip()  # its retry thread waits out the 60 s window: only we flush
    store.breaker.close()


def test_an_invalidation_lost_during_the_flush_keeps_the_store_dirty(
    redis_server: RedisServer,
) -> None:
    """The new epoch does not cover a write lost after it: no entry is served or stored."""
    store = _RacedStore(redis_server.url, "t", lambda: None)
    store.after_epoch = store.breaker.mark_dirty
    _dirty_but_closed(store)
    assert store.lookup("e:x") == (None, None)  # flushed, but another write was lost meanwhile
    assert store.epochs_written == 1
    assert store.breaker.dirty
    store.after_epoch = lambda: None
    assert store.lookup("e:x")[0] is None  # the next use flushes again, and this one lands
    assert store.epochs_written == 2
    assert not store.breaker.dirty


def test_one_request_flushes_while_the_others_answer_uncached(
    redis_server: RedisServer,
) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        if threading.current_thread() is not threading.main_thread():
            entered.set()
            release.wait(30)

    store = _RacedStore(redis_server.url, "t", hold)
    _dirty_but_closed(store)
    flusher = threading.Thread(target=store.lookup, args=("e:x",))
    flusher.start()
    try:
        assert entered.wait(30)  # one request is flushing, held right after its write
        assert store.lookup("e:x") == (None, None)  # another one does not queue behind it
        assert asyncio.run(store.alookup("e:x")) == (None, None)  # nor on the event loop
        assert store.epochs_written == 1
    finally:
        release.set()
        flusher.join(30)
    assert not store.breaker.dirty
    store.lookup("e:x")  # clean: this request reads the store, with no flush
    assert store.epochs_written == 1
