"""The response cache's Redis store on a private redis-server: freshness, faults, recovery."""

from __future__ import annotations

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
