"""nexus_shop.db_router: where each query goes, without a real replica.

The "replica" alias of tests/settings.py mirrors the test database; the router's memory of
how far a replica has replayed is seeded where a decision needs a replica that is ahead.
tests/heavy/test_replicas.py proves the same against a real streaming replica.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import RequestFactory, override_settings

from nexus_shop import db_router
from nexus_shop.checks import check_read_replicas
from nexus_shop.db_router import ReplicaMiddleware, ReplicaRouter
from nexus_shop.models import Cart, Product

ROUTER = ReplicaRouter()
BOTH = ["default", "replica"]


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    db_router.forget()
    yield
    db_router.forget()


def _replica_at(lsn: int) -> None:
    """As if this process had just asked the replica: it is up and has replayed ``lsn``."""
    db_router._down_until.pop("replica", None)
    db_router._replayed["replica"] = (lsn, time.monotonic())


replicas = override_settings(NEXUS_SHOP_READ_REPLICAS=["replica"])


def test_off_by_default_everything_goes_to_the_primary() -> None:
    _replica_at(10**12)
    assert ROUTER.db_for_read(Product) == "default"
    assert ROUTER.db_for_write(Product) == "default"


@replicas
def test_other_apps_models_are_not_routed() -> None:
    user_model = get_user_model()
    assert ROUTER.db_for_read(user_model) is None
    assert ROUTER.db_for_write(user_model) is None


@replicas
def test_an_anonymous_catalogue_read_goes_to_a_replica_that_is_up() -> None:
    _replica_at(1)
    assert ROUTER.db_for_read(Product) == "replica"
    assert Product.objects.all().db == "replica"


@replicas
def test_writes_locking_reads_and_purchase_tables_go_to_the_primary() -> None:
    _replica_at(10**12)
    assert Product.objects.select_for_update().db == "default"
    assert ROUTER.db_for_write(Product) == "default"
    assert ROUTER.db_for_read(Cart) == "default"


@replicas
@pytest.mark.django_db(transaction=True)
def test_a_read_inside_a_primary_transaction_goes_to_the_primary() -> None:
    _replica_at(10**12)
    assert ROUTER.db_for_read(Product) == "replica"
    with transaction.atomic():
        assert ROUTER.db_for_read(Product) == "default"
    assert ROUTER.db_for_read(Product) == "replica"


@replicas
@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_a_client_reads_the_primary_until_a_replica_has_replayed_its_write() -> None:
    writer = db_router.client_identity(authorization="Bearer writer")
    db_router._record(db_router.CLIENT_KEY.format(writer), 5_000, db_router.PIN_SECONDS)
    _replica_at(4_999)
    with db_router.client(writer):
        # The remembered LSN is too low, so the router asks the "replica" again: it is the
        # primary's mirror (not in recovery) on PostgreSQL, it fails on SQLite: either way
        # it is no replica to read from.
        assert ROUTER.db_for_read(Product) == "default"
    with db_router.client(db_router.client_identity(authorization="Bearer someone else")):
        _replica_at(4_999)
        assert ROUTER.db_for_read(Product) == "replica"
    _replica_at(5_000)
    with db_router.client(writer):
        assert ROUTER.db_for_read(Product) == "replica"


@replicas
@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_a_cache_fill_needs_the_last_invalidating_commit() -> None:
    db_router._record(db_router.GLOBAL_KEY, 7_000, 0)
    _replica_at(6_999)
    assert ROUTER.db_for_read(Product) == "replica"  # an ordinary anonymous read
    with db_router.filling_cache():
        assert ROUTER.db_for_read(Product) == "default"
    _replica_at(7_000)
    with db_router.filling_cache():
        # Without Redis no process can know every other's last commit: fills read the primary.
        shared = db_router._redis() is not None
        assert ROUTER.db_for_read(Product) == ("replica" if shared else "default")


@replicas
@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_a_replica_that_cannot_serve_is_left_alone() -> None:
    assert db_router._replay_lsn("replica", fresh=True) is None
    assert ROUTER.db_for_read(Product) == "default"
    if connection.vendor != "postgresql":  # it failed: not asked again for a while
        assert db_router._down_until["replica"] > time.monotonic()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="WAL LSNs are PostgreSQL's")
@replicas
@pytest.mark.django_db(transaction=True)
def test_a_committed_catalogue_write_records_its_lsn_for_its_client() -> None:
    from tests.factories import ProductFactory

    product = ProductFactory()
    writer = db_router.client_identity(cart_token="token-1")
    key = db_router.CLIENT_KEY.format(writer)
    with db_router.client(writer):
        from nexus_shop.services.catalog import product_update

        product_update(product_id=product.pk, name="Renamed")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            now = db_router.parse_lsn(cursor.fetchone()[0])
    recorded = db_router._local_get(key)
    assert 0 < recorded <= now
    assert db_router._local_get(db_router.GLOBAL_KEY) == recorded
    db_router.forget()
    with db_router.client(writer):
        # Another process learns it from Redis (when the suite runs with Redis).
        need = db_router._needed_lsn()
    assert need == (recorded if db_router._redis() is not None else 0)


def test_client_identity_hashes_credentials_or_cart_token() -> None:
    assert db_router.client_identity() is None
    by_token = db_router.client_identity(authorization="Bearer abc")
    assert by_token is not None
    assert "abc" not in by_token
    assert by_token != db_router.client_identity(cart_token="Bearer abc")
    assert db_router.client_identity(authorization="x", cart_token="y") == (
        db_router.client_identity(authorization="x")
    )


def test_parse_lsn() -> None:
    assert db_router.parse_lsn(None) == 0
    assert db_router.parse_lsn("0/16B3748") == 0x16B3748
    assert db_router.parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848


def test_the_middleware_names_the_requests_client() -> None:
    seen: list[str | None] = []

    def view(request: object) -> str:
        seen.append(db_router._client.get())
        return "ok"

    middleware = ReplicaMiddleware(view)
    request = RequestFactory().get("/", HTTP_X_CART_TOKEN="cart-1")
    assert middleware(request) == "ok"
    assert seen == [db_router.client_identity(cart_token="cart-1")]
    assert db_router._client.get() is None


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        (["replica"], 0),
        ([], 0),
        (["nope"], 1),
        (["default"], 1),
        ("replica", 1),
    ],
)
def test_check_e080(value: object, errors: int) -> None:
    with override_settings(NEXUS_SHOP_READ_REPLICAS=value):
        found = check_read_replicas()
    assert len(found) == errors
    assert all(message.id == "nexus_shop.E080" for message in found)


def test_check_e080_names_the_cache() -> None:
    with override_settings(NEXUS_SHOP_READ_REPLICAS=["replica"], NEXUS_SHOP_READ_REPLICA_CACHE="x"):
        assert [m.id for m in check_read_replicas()] == ["nexus_shop.E080"]


def test_the_middleware_names_the_client_under_asgi_too() -> None:
    import asyncio

    seen: list[str | None] = []

    async def view(request: object) -> str:
        seen.append(db_router._client.get())
        return "ok"

    middleware = ReplicaMiddleware(view)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer t")
    assert asyncio.run(middleware(request)) == "ok"
    assert seen == [db_router.client_identity(authorization="Bearer t")]


@pytest.mark.django_db
def test_nothing_is_recorded_without_replicas() -> None:
    from nexus_shop.invalidation import Change

    with db_router.client("someone"):
        db_router.on_change(Change(product_ids=frozenset({1})))
    assert db_router._local_get(db_router.GLOBAL_KEY) == 0
