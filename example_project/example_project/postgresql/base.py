"""Django's PostgreSQL backend, with a pool that replaces every broken connection at once.

With ``CONN_HEALTH_CHECKS``, Django gives psycopg's pool
``check=ConnectionPool.check_connection``: a connection is tested as it leaves the pool.
That alone is not enough after a database restart, when *every* idle connection is
broken: psycopg_pool (3.2, 3.3) waits 1 s, then 2 s, then 4 s between failed checks
within one ``getconn()``, so with three broken connections a request times out (5 s)
although the database is back. Here the first failed check runs ``ConnectionPool.check()``,
which tests every idle connection and replaces the broken ones, so the next connection
handed out works: the first request after the restart waits about a second and
succeeds. ``tests/heavy/test_database_faults.py`` shows both for real.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


def _check_or_sweep(pool: ConnectionPool[Any], connection: Any) -> None:
    try:
        ConnectionPool.check_connection(connection)
    except Exception:
        pool.check()  # the others are most likely broken too: replace them all now
        raise


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> Any:
        pool = super().pool
        # psycopg_pool has no public way to change the check of a pool Django built; its
        # ``_check`` attribute is what getconn() calls (psycopg_pool 3.2 and 3.3).
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = functools.partial(_check_or_sweep, pool)
        return pool
