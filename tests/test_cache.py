"""nexus_shop.cache.RedisCache: one pool per process, fail-open, breaker, ping recovery.

Every test that needs Redis down runs its own ``redis-server`` on a free port and stops
it; the shared Redis is never touched.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.test import override_settings

from nexus_shop.cache import RedisCache, _recovery_hooks, on_recovery
from tests.support.race import race_n
from tests.support.redis_server import RedisServer, running_redis

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pool_of(cache: Any, *, write: bool) -> Any:
    """The connection pool a cache's client hands out (Django's private API, untyped)."""
    return cache._cache._get_connection_pool(write)


def available(cache: RedisCache) -> bool:
    """``cache.is_available``, read afresh (a call, so mypy does not keep an old narrowing)."""
    return cache.is_available


def make_cache(url: str, **options: Any) -> RedisCache:
    return RedisCache(url, {"KEY_PREFIX": "nexus-shop-test-cache", "OPTIONS": options})


def test_a_wrong_retry_delay_is_not_passed_to_redis_py_and_falls_back(
    redis_server: RedisServer,
) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER="5s")
    assert cache.retry_after == 5.0  # the default, with a warning (the check is E022)
    cache.set("k", 1)  # the option did not reach redis-py's pool
    assert cache.get("k") == 1


@contextmanager
def silent_port(port: int) -> Iterator[Callable[[], int]]:
    """Listen on ``port`` and never answer; yield a count of the connections made to it.

    The kernel completes a client's handshake into the listen queue before its
    ``connect()`` returns, so once a call that would have talked to Redis has returned,
    its connection is there to count: no timing involved.
    """
    accepted: list[socket.socket] = []
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.setblocking(False)

        def attempts() -> int:
            while True:
                try:
                    connection, _ = listener.accept()
                except BlockingIOError:
                    return len(accepted)
                accepted.append(connection)

        try:
            yield attempts
        finally:
            for connection in accepted:
                connection.close()


# One pool per process --------------------------------------------------------------------------


def test_instances_with_the_same_server_share_one_pool() -> None:
    first = make_cache("redis://127.0.0.1:6399/0")
    second = make_cache("redis://127.0.0.1:6399/0")
    assert first is not second
    assert pool_of(first, write=True) is pool_of(second, write=True)


def test_djangos_stock_backend_does_not_share_pools() -> None:
    """The problem the backend solves: one pool, hence one TCP connection, per instance."""
    first = DjangoRedisCache("redis://127.0.0.1:6399/0", {})
    second = DjangoRedisCache("redis://127.0.0.1:6399/0", {})
    assert pool_of(first, write=True) is not pool_of(second, write=True)


def test_other_servers_or_options_get_their_own_pool() -> None:
    base = pool_of(make_cache("redis://127.0.0.1:6399/0"), write=True)
    other_db = pool_of(make_cache("redis://127.0.0.1:6399/1"), write=True)
    other_timeout = pool_of(make_cache("redis://127.0.0.1:6399/0", socket_timeout=2.0), write=True)
    assert len({id(base), id(other_db), id(other_timeout)}) == 3


def test_per_thread_cache_objects_share_the_pool() -> None:
    """Django builds a cache object per thread / ASGI context; they must share a pool."""
    location = "redis://127.0.0.1:6399/2"

    def grab(_: int) -> tuple[Any, Any]:
        cache = caches["default"]
        return cache, pool_of(cache, write=False)

    with override_settings(
        CACHES={"default": {"BACKEND": "nexus_shop.cache.RedisCache", "LOCATION": location}}
    ):
        seen = race_n(3, grab)
    assert not [outcome for outcome in seen if isinstance(outcome, BaseException)]
    assert len({id(cache) for cache, _ in seen}) == 3
    assert len({id(pool) for _, pool in seen}) == 1


def test_socket_timeouts_default_to_half_a_second() -> None:
    pool = pool_of(make_cache("redis://127.0.0.1:6399/3"), write=True)
    assert pool.connection_kwargs["socket_connect_timeout"] == 0.5
    assert pool.connection_kwargs["socket_timeout"] == 0.5


# Working Redis ---------------------------------------------------------------------------------


def test_round_trip_through_a_live_redis(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url)
    cache.set("greeting", {"hello": "world"}, timeout=30)
    assert cache.get("greeting") == {"hello": "world"}
    assert cache.add("greeting", "other") is False
    cache.set_many({"a": 1, "b": 2})
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert cache.incr("a") == 2
    assert cache.has_key("b")
    assert cache.delete("b") is True
    assert cache.ping() is True
    assert cache.is_available


# Fail-open -------------------------------------------------------------------------------------


def test_every_read_and_write_fails_open_when_redis_is_down(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=0)  # no breaker: hit Redis every time
    cache.set("kept", "value")
    redis_server.stop()

    with caplog.at_level(logging.WARNING, logger="nexus_shop.cache"):
        assert cache.get("kept") is None
        assert cache.get("kept", "fallback") == "fallback"
        cache.set("kept", "new")  # dropped, no exception
        assert cache.add("new", 1) is False
        assert cache.get_many(["kept", "x"]) == {}
        assert cache.set_many({"x": 1}) == ["x"]  # Django's contract: the keys not stored
        assert cache.has_key("kept") is False
        assert cache.touch("kept") is False
        assert cache.delete("kept") is False
        cache.delete_many(["kept"])
        cache.clear()
        assert cache.get_or_set("computed", lambda: 42) == 42
    assert "Redis unreachable" in caplog.text


def test_djangos_stock_backend_raises_when_redis_is_down(redis_server: RedisServer) -> None:
    """What fail-open protects against: the stock backend (and so cachalot) raises."""
    cache = DjangoRedisCache(redis_server.url, {})
    redis_server.stop()
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get("anything")


def test_incr_has_no_miss_to_answer_so_it_raises(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=0)
    cache.set("counter", 1)
    redis_server.stop()
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.incr("counter")


def test_a_write_redis_refuses_is_dropped_without_opening_the_breaker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full Redis (maxmemory, noeviction) answers OOM: drop the write, keep reading."""
    with running_redis("--maxmemory", "3mb", "--maxmemory-policy", "noeviction") as server:
        cache = make_cache(server.url)
        cache.set("small", "fits")
        with caplog.at_level(logging.WARNING, logger="nexus_shop.cache"):
            cache.set("big", "x" * (4 * 1024 * 1024))  # over maxmemory: refused, not raised
        assert "Redis refused" in caplog.text
        assert cache.is_available
        assert cache.get("small") == "fits"
        assert cache.get("big") is None


# Breaker ---------------------------------------------------------------------------------------


def test_breaker_skips_redis_for_retry_after_then_tries_again(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    redis_server.stop()
    assert cache.get("k") is None  # fails, opens the breaker
    assert not cache.is_available
    other = make_cache(redis_server.url, RETRY_AFTER=60)
    assert not other.is_available  # the breaker is per server, not per instance

    redis_server.start()  # Redis is back, but the breaker is still open:
    cache.set("k", "v")  # skipped, not written
    assert redis_server.raw().keys("*") == []
    assert cache.get("k", "miss") == "miss"

    # The window ends (moved to the past rather than slept through, so that a slow
    # server start under load cannot outlast it): the next call goes to Redis again.
    cache.breaker.open_until = time.monotonic() - 1
    assert available(cache)
    cache.set("k", "v")
    assert cache.get("k") == "v"
    # Before that first use, the recovery hooks flushed what the outage may have left
    # stale: cachalot's table keys (and the response cache, when it is on).
    from cachalot.utils import get_table_cache_key

    assert isinstance(cache.get(get_table_cache_key("default", "nexus_shop_product")), float)


def test_an_open_breaker_costs_no_connection_attempts(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    redis_server.stop()
    cache.get("k")  # opens the breaker
    # The port is now held by a socket that counts connections and never answers.
    with silent_port(redis_server.port) as attempts:
        for _ in range(5):
            assert cache.get("k") is None
            cache.set("k", "v")
            cache.set_many({"query": (1.0, ["rows"])})
            assert attempts() == 0
        # The count is real: once the window ends, the next call tries Redis again.
        cache.breaker.close()
        assert cache.get("k") is None  # the recovery's write times out: open again
        assert attempts() >= 1
        assert not cache.is_available


# Ping ------------------------------------------------------------------------------------------


def test_ping_reports_down_and_opens_the_breaker(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    assert cache.ping() is True
    redis_server.stop()
    assert cache.ping() is False
    assert not cache.is_available


def test_ping_bypasses_the_breaker_and_closes_it_on_recovery(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    redis_server.stop()
    cache.set("k", "v")  # opens the breaker for a minute
    assert not cache.is_available
    redis_server.start()
    assert cache.get("k", "miss") == "miss"  # still skipping Redis

    assert cache.ping() is True  # what the health endpoint calls
    assert available(cache)
    cache.set("k", "v")
    assert cache.get("k") == "v"


def test_without_the_redis_extra_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from nexus_shop.cache import RedisCache

    monkeypatch.setitem(sys.modules, "redis", None)  # what `import redis` sees without it
    with pytest.raises(ImproperlyConfigured, match=r'pip install "nexus-shop\[redis\]"'):
        RedisCache("redis://127.0.0.1:6379/0", {})


# Lost writes never leave stale values (issue 8, faults) -------------------------------------


def _fill(server: RedisServer) -> None:
    """Put Redis over its memory limit (noeviction): every write is refused with OOM."""
    raw = server.raw()
    blob = b"x" * 64 * 1024
    for n in range(40):
        raw.set(f"junk:{n}", blob)
    raw.config_set("maxmemory-policy", "noeviction")
    raw.config_set("maxmemory", "1mb")
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        raw.set("one-more", b"x")


def test_a_refused_overwrite_deletes_the_old_value() -> None:
    with running_redis() as server:
        cache = make_cache(server.url, RETRY_AFTER=60)
        cache.set("price", "10.00")
        cache.set_many({"table-a": 1.0, "table-b": 1.0})
        _fill(server)
        cache.set("price", "12.00")  # refused: OOM
        assert cache.get("price") is None  # never the old "10.00"
        assert cache.set_many({"table-a": 2.0, "table-b": 2.0}) == ["table-a", "table-b"]
        assert cache.get_many(["table-a", "table-b"]) == {}
        assert cache.is_available  # Redis answered: no breaker, no dirty cache
        assert not cache.is_dirty
        assert cache.probe() == "degraded"


def test_probe_reports_ok_and_down(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    assert cache.probe() == "ok"
    redis_server.stop()
    assert cache.probe() == "down"


def test_incr_respects_the_open_breaker(redis_server: RedisServer) -> None:
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    cache.set("hits", 0)
    redis_server.stop()
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.incr("hits")  # the real failure opens the breaker
    assert not cache.is_available
    with silent_port(redis_server.port) as attempts:
        for _ in range(5):
            with pytest.raises(redis.exceptions.ConnectionError, match="breaker open"):
                cache.incr("hits")
            assert attempts() == 0


def test_after_an_outage_the_cache_is_flushed_before_use(redis_server: RedisServer) -> None:
    """A write lost while Redis was away: the recovery hooks run before the next read.

    (They flush cachalot's tables and the response cache; tests/http_cache/test_faults.py
    shows the end result through the API.)
    """
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    cache.set("name", "old")
    redis_server.pause()  # frozen: the overwrite below times out, its fate unknown
    try:
        cache.set("name", "new")
    finally:
        redis_server.resume()
    assert cache.is_dirty
    cache.breaker.open_until = time.monotonic() - 1  # the window ends
    hooks_ran: list[RedisCache] = []
    on_recovery(hooks_ran.append)
    try:
        cache.get("name")
    finally:
        _recovery_hooks.remove(hooks_ran.append)
    assert hooks_ran == [cache]  # flushed before the first read
    assert not cache.is_dirty


def test_a_write_lost_while_the_hooks_run_keeps_the_cache_dirty(redis_server: RedisServer) -> None:
    """The hooks' flush does not cover a write lost after it: the cache is not used yet."""
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    cache.set("name", "cached")
    cache.breaker.trip()  # its retry thread waits out the minute: only our reads recover
    cache.breaker.close()
    runs: list[int] = []

    def hook(flushed: RedisCache) -> None:
        runs.append(1)
        if len(runs) == 1:
            flushed.breaker.mark_dirty()  # another thread's cachalot write fails meanwhile

    on_recovery(hook)
    try:
        assert cache.get("name") is None  # recovered, but not clean: a miss
        assert cache.is_dirty
        assert cache.get("name") == "cached"  # the next use runs the hooks again
    finally:
        _recovery_hooks.remove(hook)
    assert runs == [1, 1]
    assert not cache.is_dirty


def test_an_invalidation_is_tried_even_with_the_breaker_open(redis_server: RedisServer) -> None:
    """cachalot invalidates with timestamps only: skipping it would leave stale rows elsewhere."""
    cache = make_cache(redis_server.url, RETRY_AFTER=60)
    redis_server.stop()
    cache.get("k")  # opens the breaker for a minute
    redis_server.start()  # back, but this process does not know yet
    cache.set_many({"query": (1.0, ["old rows"])})  # a cached result: skipped
    assert cache.set_many({"table": 2.0}) == []  # an invalidation: written
    assert available(cache)  # and Redis answering closed the breaker
    assert cache.get("table") == 2.0
