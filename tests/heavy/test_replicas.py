"""Read replicas against a real streaming replica (nexus_shop.db_router).

A throwaway primary (tests/support/postgres_server.py) gets a copy of the test database's
schema and a ``pg_basebackup -R`` replica on its own port that applies every commit
:data:`DELAY` late (``recovery_min_apply_delay``). Django's ``default`` points at the
primary and ``replica`` at the replica, with ``NEXUS_SHOP_READ_REPLICAS = ["replica"]``.

Each test first shows what the lag does without the router's rule (a read of the replica
right after a write returns the old row), then that the router's read is fresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client, override_settings

from nexus_shop import db_router
from nexus_shop.http_cache.engine import get_engine
from nexus_shop.models import Product
from nexus_shop.services.catalog import product_update
from tests.factories import ProductFactory
from tests.heavy.example_server import database_url
from tests.support import wait_until
from tests.support.postgres_server import (
    PostgresServer,
    django_connected_to,
    replay_lsn,
    running_postgres,
    running_replica,
)

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

DELAY = 2.0
WRITER = db_router.client_identity(authorization="Bearer the writer")


def _primary_lsn() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return db_router.parse_lsn(cursor.fetchone()[0])


def _caught_up(replica: PostgresServer, lsn: int) -> bool:
    return db_router.parse_lsn(replay_lsn(replica)) >= lsn


@pytest.fixture
def replica() -> Iterator[PostgresServer]:
    source = database_url(connection.settings_dict)
    with (
        running_postgres() as primary,
        running_replica(
            primary, settings={"recovery_min_apply_delay": f"{int(DELAY * 1000)}ms"}
        ) as standby,
    ):
        url = primary.copy_schema(source, "shop")
        with (
            django_connected_to(url),
            django_connected_to(standby.url("shop"), alias="replica"),
            override_settings(NEXUS_SHOP_READ_REPLICAS=["replica"]),
        ):
            lsn = _primary_lsn()
            wait_until(lambda: _caught_up(standby, lsn), "the replica has the schema")
            db_router.forget()
            yield standby
            db_router.forget()


def _renamed(product: Product, name: str) -> None:
    """Rename ``product`` as :data:`WRITER`, committed for real."""
    with db_router.client(WRITER):
        product_update(product_id=product.pk, name=name)


def test_a_client_reads_its_own_write_while_the_replica_lags(replica: PostgresServer) -> None:
    product = ProductFactory(name="Old")
    lsn = _primary_lsn()
    wait_until(lambda: _caught_up(replica, lsn), "the replica has the product")

    _renamed(product, "New")
    # Without the rule: the replica, read directly, still has the old row.
    assert Product.objects.using("replica").get(pk=product.pk).name == "Old"
    # With it: the writer's reads go to the primary until the replica has replayed.
    with db_router.client(WRITER):
        assert db_router.choose_read_database() == "default"
        assert Product.objects.get(pk=product.pk).name == "New"
    # A client who wrote nothing may read the lagging replica: stale, as it may be.
    assert Product.objects.all().db == "replica"

    # Once the replica has applied the commit (DELAY later), the writer reads it there too.
    lsn = _primary_lsn()
    started = time.monotonic()
    wait_until(lambda: _caught_up(replica, lsn), "the replica has the rename")
    assert time.monotonic() - started > DELAY / 2  # the lag was real
    db_router._replayed.clear()  # do not wait for this process's next probe
    with db_router.client(WRITER):
        assert db_router.choose_read_database() == "replica"
        assert Product.objects.get(pk=product.pk).name == "New"
    assert Product.objects.get(pk=product.pk).name == "New"  # anonymous, from the replica


@pytest.mark.skipif(
    not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"),
    reason="the response cache's cross-process record needs Redis",
)
def test_the_response_cache_does_not_store_a_lagging_replicas_answer(
    replica: PostgresServer,
) -> None:
    product = ProductFactory(name="Old")
    lsn = _primary_lsn()
    wait_until(lambda: _caught_up(replica, lsn), "the replica has the product")
    middleware = ["nexus_shop.http_cache.ResponseCacheMiddleware", *settings.MIDDLEWARE]
    anon = Client()
    url = f"/api/products/{product.pk}"
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="default", MIDDLEWARE=middleware):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        assert anon.get(url).json()["name"] == "Old"

        _renamed(product, "New")  # bumps the entry's version, records the commit's LSN
        assert Product.objects.using("replica").get(pk=product.pk).name == "Old"
        miss = anon.get(url)
        assert miss["X-Response-Cache"] == "miss"
        assert miss.json()["name"] == "New"  # read from the primary, so stored fresh
        hit = anon.get(url)
        assert hit["X-Response-Cache"] == "hit"
        assert hit.json()["name"] == "New"


def test_a_replica_that_is_down_sends_reads_to_the_primary(replica: PostgresServer) -> None:
    product = ProductFactory(name="Kept")
    lsn = _primary_lsn()
    wait_until(lambda: _caught_up(replica, lsn), "the replica has the product")
    assert Product.objects.all().db == "replica"
    assert Product.objects.get(pk=product.pk).name == "Kept"

    replica.stop()
    time.sleep(db_router.PROBE_SECONDS * 2)  # this process's last probe is now too old
    connections["replica"].close()
    assert Product.objects.get(pk=product.pk).name == "Kept"  # no error: the primary
    assert db_router.choose_read_database() == "default"
    response = Client().get(f"/api/products/{product.pk}")
    assert response.status_code == 200
