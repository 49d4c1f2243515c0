"""GET /api/health against a real database and a real Redis, both up and down.

"Down" is real: the default connection is pointed at a database that cannot be opened
(a closed port on PostgreSQL, a path in a missing folder on SQLite), and the cache at a
``redis-server`` this module starts and kills. Nothing is mocked.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client, override_settings

from tests.factories import ProductFactory
from tests.support.ports import refused_port
from tests.support.redis_server import RedisServer, running_redis

pytestmark = pytest.mark.django_db


def redis_caches(server: RedisServer, backend: str = "nexus_shop.cache.RedisCache") -> Any:
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": backend,
                "LOCATION": server.url,
                "KEY_PREFIX": f"nexus-shop-test-health-{server.port}",
                "OPTIONS": {"RETRY_AFTER": 60} if backend.startswith("nexus_shop") else {},
            }
        }
    )


@contextmanager
def unreachable_default_database(tmp_path: Path) -> Iterator[None]:
    """Swap the default connection for one to a database that cannot be reached."""
    original = connections[DEFAULT_DB_ALIAS]
    settings = copy.deepcopy(original.settings_dict)
    with refused_port() as port:
        if original.vendor == "sqlite":
            settings["NAME"] = str(tmp_path / "no-such-folder" / "db.sqlite3")
        else:
            settings["HOST"] = "127.0.0.1"
            settings["PORT"] = str(port)
            # Django keys psycopg pools by alias; a pool would hand out the real database.
            settings["OPTIONS"] = {k: v for k, v in settings["OPTIONS"].items() if k != "pool"}
        broken = type(original)(settings, alias=DEFAULT_DB_ALIAS)
        connections[DEFAULT_DB_ALIAS] = broken
        try:
            yield
        finally:
            connections[DEFAULT_DB_ALIAS] = original
            broken.close()


def test_health_is_ok_when_everything_is_up(anon: Client) -> None:
    response = anon.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_health_is_public_and_listed_in_the_schema(anon: Client) -> None:
    schema = anon.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/health"]["get"]
    assert operation["operationId"] == "health"
    assert set(operation["responses"]) == {"200", "503"}
    assert "security" not in operation


def test_health_answers_503_naming_the_database_when_it_is_down(
    anon: Client, tmp_path: Path
) -> None:
    with unreachable_default_database(tmp_path):
        response = anon.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "down", "cache": "ok"}
    # The real connection is back: so is the database.
    assert anon.get("/api/health").json()["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_cache_outage_is_degraded_not_down_and_the_api_keeps_serving(anon: Client) -> None:
    with running_redis() as server, redis_caches(server):
        ProductFactory(name="Before the outage")
        response = anon.get("/api/health")
        assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
        assert anon.get("/api/products").status_code == 200  # cachalot fills Redis
        assert server.raw().dbsize() > 0

        server.stop()
        response = anon.get("/api/health")
        assert response.status_code == 200
        assert response.json() == {"status": "degraded", "database": "ok", "cache": "down"}

        # Reads and writes go on from the database, with cachalot on and Redis gone.
        ProductFactory(name="During the outage")
        response = anon.get("/api/products")
        assert response.status_code == 200
        names = {item["name"] for item in response.json()["items"]}
        assert names == {"Before the outage", "During the outage"}

        # Redis comes back (empty, as without persistence): health closes the breaker.
        server.start()
        response = anon.get("/api/health")
        assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
        assert anon.get("/api/products").status_code == 200
        assert server.raw().dbsize() > 0  # the cache is in use again


@pytest.mark.django_db(transaction=True)
def test_without_fail_open_a_cache_outage_breaks_the_api(anon: Client) -> None:
    """Why the backend matters: Django's stock RedisCache makes cachalot raise."""
    stock = "django.core.cache.backends.redis.RedisCache"
    with running_redis() as server, redis_caches(server, backend=stock):
        ProductFactory()
        server.stop()
        with pytest.raises(redis.exceptions.ConnectionError):
            anon.get("/api/products")


# The probes: /health/live (no I/O) and /health/ready (the database, not the cache).


def test_live_answers_without_any_io(anon: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = anon.get("/api/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_live_answers_200_with_the_database_down(anon: Client, tmp_path: Path) -> None:
    with unreachable_default_database(tmp_path):
        response = anon.get("/api/health/live")
    assert response.status_code == 200


def test_ready_is_200_when_the_database_answers(anon: Client) -> None:
    response = anon.get("/api/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_ready_is_503_when_the_database_is_down(anon: Client, tmp_path: Path) -> None:
    with unreachable_default_database(tmp_path):
        response = anon.get("/api/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "down"}
    assert response["Cache-Control"] == "no-store"


def test_ready_ignores_a_cache_outage(anon: Client) -> None:
    with running_redis() as server, redis_caches(server):
        server.stop()
        ready = anon.get("/api/health/ready")
        health = anon.get("/api/health")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert health.json()["cache"] == "down"  # the full report still says so


def test_the_probes_are_in_the_schema(anon: Client) -> None:
    paths = anon.get("/api/openapi.json").json()["paths"]
    assert paths["/api/health/live"]["get"]["operationId"] == "health_live"
    assert set(paths["/api/health/ready"]["get"]["responses"]) >= {"200", "503"}
