"""The engine a host's settings build (``nexus_shop.http_cache.engine``)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from nexus_shop.breaker import RETRY_AFTER
from nexus_shop.http_cache.engine import get_engine
from nexus_shop.http_cache.store import DjangoCacheStore, RedisStore

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def _caches(backend: str = LOCMEM, **options: object) -> dict[str, dict[str, object]]:
    return {
        "default": {
            "BACKEND": backend,
            "LOCATION": "redis://127.0.0.1:1/0" if "Redis" in backend else "test-engine",
            "OPTIONS": options,
        }
    }


@pytest.mark.parametrize(("options", "expected"), [({}, RETRY_AFTER), ({"RETRY_AFTER": 7.5}, 7.5)])
def test_the_store_waits_as_long_as_the_cache_backend_after_a_failure(
    options: dict[str, float], expected: float
) -> None:
    # One retry rule for both Redis users (nexus_shop.breaker): the response cache takes
    # the RETRY_AFTER its CACHES entry gives the backend, not a delay of its own.
    caches = _caches("nexus_shop.cache.RedisCache", **options)
    with override_settings(CACHES=caches, NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        assert isinstance(engine.store, RedisStore)
        assert engine.store.breaker.retry_after == expected


@pytest.mark.parametrize("value", ["5s", None])
def test_a_wrong_retry_delay_does_not_break_every_request(value: object) -> None:
    # The system check (nexus_shop.E022) reports it; requests go on with the default.
    caches = _caches("nexus_shop.cache.RedisCache", RETRY_AFTER=value)
    with override_settings(CACHES=caches, NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        assert engine.store.breaker.retry_after == RETRY_AFTER


def test_a_cache_without_redis_gets_a_store_of_its_own() -> None:
    with override_settings(CACHES=_caches(), NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        assert isinstance(engine.store, DjangoCacheStore)
        assert engine.store.breaker.retry_after == RETRY_AFTER


def test_no_engine_without_the_setting() -> None:
    with override_settings(CACHES=_caches(), NEXUS_SHOP_RESPONSE_CACHE=None):
        assert get_engine() is None
