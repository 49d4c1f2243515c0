"""The engine a host's settings build (``nexus_shop.http_cache.engine``)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from nexus_shop.breaker import RETRY_AFTER
from nexus_shop.http_cache.engine import get_engine
from nexus_shop.http_cache.store import DjangoCacheStore


def _caches(**options: float) -> dict[str, dict[str, object]]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "test-engine",
            "OPTIONS": options,
        }
    }


@pytest.mark.parametrize(("options", "expected"), [({}, RETRY_AFTER), ({"RETRY_AFTER": 7.5}, 7.5)])
def test_the_store_waits_as_long_as_the_cache_backend_after_a_failure(
    options: dict[str, float], expected: float
) -> None:
    # One retry rule for both Redis users (nexus_shop.breaker): the response cache takes
    # the RETRY_AFTER its CACHES entry gives the backend, not a delay of its own.
    with override_settings(CACHES=_caches(**options), NEXUS_SHOP_RESPONSE_CACHE="default"):
        engine = get_engine()
        assert engine is not None
        assert isinstance(engine.store, DjangoCacheStore)
        assert engine.store.breaker.retry_after == expected


def test_no_engine_without_the_setting() -> None:
    with override_settings(CACHES=_caches(), NEXUS_SHOP_RESPONSE_CACHE=None):
        assert get_engine() is None
