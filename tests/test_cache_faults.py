"""A Redis that refuses writes, through the API: no stale reads, and /health says so."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from tests.conftest import bearer
from tests.factories import ProductFactory
from tests.support.redis_server import running_redis
from tests.test_cache import _fill

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: cachalot writes on commit


def test_patch_then_get_on_a_full_redis_is_fresh_and_health_is_degraded(staff: Any) -> None:
    with running_redis() as server:
        caches = {
            "default": {
                "BACKEND": "nexus_shop.cache.RedisCache",
                "LOCATION": server.url,
                "KEY_PREFIX": f"nexus-shop-test-full-{server.port}",
            }
        }
        with override_settings(CACHES=caches, NEXUS_SHOP_RESPONSE_CACHE=None):
            product = ProductFactory(name="Old name")
            anon, staff_client = Client(), Client(headers=bearer(staff))
            url = f"/api/products/{product.pk}"
            for _ in range(2):  # cached by cachalot now
                assert anon.get(url).json()["name"] == "Old name"
            assert anon.get("/api/health").json()["cache"] == "ok"
            _fill(server)
            patched = staff_client.patch(
                url, data={"name": "New name"}, content_type="application/json"
            )
            assert patched.status_code == 200
            for _ in range(3):
                response = anon.get(url)
                assert response.status_code == 200
                assert response.json()["name"] == "New name"
            health = anon.get("/api/health")
            assert health.status_code == 200
            assert health.json() == {"status": "degraded", "database": "ok", "cache": "degraded"}
