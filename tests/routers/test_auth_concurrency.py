"""Promise 1: a refresh token is single-use even under concurrent requests.

Twenty threads, each with its own database connection and transaction, present the same
refresh token at once. Exactly one may win.

On PostgreSQL this is the real proof of the atomic blacklist: every racer passes the
"is it blacklisted?" read before any of them commits, so only the unique one-to-one
``BlacklistedToken.token`` insert stops the others. With ninja-jwt's ``get_or_create``
(exists-then-create) several racers get a 200.

SQLite allows one writer at a time, so there the race cannot be lost (nor shown); the
test still proves that concurrent refreshes answer one 200 and 401s, never a 500. The
suite's in-memory SQLite database (shared cache) refuses concurrent writers outright
("database table is locked"), so on SQLite the test copies it to a file-based database
opened with ``transaction_mode = "IMMEDIATE"`` and a busy timeout, the configuration
docs/auth.md recommends for SQLite hosts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from tests.factories import PASSWORD, UserFactory
from tests.support.race import race_n

RACERS = 20


@pytest.fixture
def threadable_db(tmp_path: Path) -> Iterator[None]:
    """On SQLite: point every connection at a file copy of the test database for the test."""
    if connection.vendor != "sqlite":
        yield
        return
    settings_dict = connection.settings_dict  # the dict every thread's connection is built from
    saved_name, saved_options = settings_dict["NAME"], dict(settings_dict.get("OPTIONS") or {})
    path = tmp_path / "race.sqlite3"
    # A shared-cache in-memory database lives while one connection to it is open: keep one,
    # so the suite's database survives the switch and back.
    keeper = sqlite3.connect(saved_name, uri=True)
    target = sqlite3.connect(path)
    keeper.backup(target)  # schema (migrated) and rows, into a real file
    target.close()
    settings_dict["NAME"] = str(path)
    settings_dict["OPTIONS"] = {**saved_options, "transaction_mode": "IMMEDIATE", "timeout": 30}
    connection.close()  # no longer "in memory": really closes; reconnects to the file
    try:
        yield
    finally:
        connections.close_all()
        settings_dict["NAME"] = saved_name
        settings_dict["OPTIONS"] = saved_options
        connection.ensure_connection()  # back on the in-memory database, before the keeper goes
        keeper.close()


def _race(path: str, body: dict[str, Any]) -> list[int]:
    outcomes = race_n(RACERS, lambda _: Client().post(path, body, content_type="application/json"))
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not errors, errors
    return [outcome.status_code for outcome in outcomes]


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_have_exactly_one_winner(threadable_db: None) -> None:
    user = UserFactory()
    pair = Client().post(
        "/api/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert pair.status_code == 200
    refresh = pair.json()["refresh"]

    statuses = _race("/api/auth/token/refresh", {"refresh": refresh})

    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 401, 429}, statuses
    # One rotation happened: the login token and exactly one rotated token are outstanding,
    # and only the login token is blacklisted.
    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    assert BlacklistedToken.objects.get(token__user=user).token.token == refresh


@pytest.mark.django_db(transaction=True)
def test_concurrent_logouts_with_one_token_have_exactly_one_winner(threadable_db: None) -> None:
    user = UserFactory()
    pair = Client().post(
        "/api/auth/token",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    refresh = pair.json()["refresh"]

    statuses = _race("/api/auth/logout", {"refresh": refresh})

    assert statuses.count(204) == 1, statuses
    assert set(statuses) <= {204, 401}, statuses
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
