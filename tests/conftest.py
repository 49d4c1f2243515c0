from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.factories import (
    CategoryFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    refresh_token_for,
)
from tests.support.ports import refused_port
from tests.support.redis_server import RedisServer, running_redis


def pytest_report_header() -> list[str]:
    return [
        f"nexus_shop tests: DATABASE_URL={'set' if os.environ.get('DATABASE_URL') else 'sqlite'}, "
        f"REDIS_URL={'set' if os.environ.get('REDIS_URL') else 'locmem'}"
    ]


HEAVY = Path(__file__).parent / "heavy"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Heavy tests live in tests/heavy, and only they do: `nox -s heavy` runs that folder and
    # `nox -s tests` ignores it, so a heavy test elsewhere would run in neither or in both.
    misplaced = [
        item.nodeid
        for item in items
        if (item.get_closest_marker("heavy") is not None) != item.path.is_relative_to(HEAVY)
    ]
    if misplaced:
        raise pytest.UsageError(f"heavy tests go in tests/heavy, and only they: {misplaced}")
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def bearer(user: Any) -> dict[str, str]:
    """``Authorization`` header with a fresh access token of ``user`` (nexus_shop's lifetimes)."""
    token = refresh_token_for(user).access_token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def anon() -> Client:
    return Client()


@pytest.fixture
def customer(db: None) -> Any:
    return UserFactory()


@pytest.fixture
def staff(db: None) -> Any:
    return StaffFactory()


@pytest.fixture
def customer_client(customer: Any) -> Client:
    return Client(headers=bearer(customer))


@pytest.fixture
def staff_client(staff: Any) -> Client:
    return Client(headers=bearer(staff))


@pytest.fixture
def make_category(db: None) -> Callable[..., Any]:
    return CategoryFactory


@pytest.fixture
def make_product(db: None) -> Callable[..., Any]:
    return ProductFactory


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private, started ``redis-server`` (never the shared one); stopped after the test."""
    with running_redis() as server:
        yield server


@pytest.fixture
def unreachable_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses every connection for the length of the test."""
    with refused_port() as port:
        yield port
