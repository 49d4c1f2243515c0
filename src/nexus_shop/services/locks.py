"""Row and advisory locks shared by the services (PostgreSQL; no-ops where not needed)."""

from __future__ import annotations

import hashlib

from django.db import connection
from django.db.models import Model


def advisory_lock(*names: str) -> None:
    """Serialise transactions that take the same named lock (until they end).

    PostgreSQL: transaction-scoped advisory locks, taken in a fixed order so two callers
    never deadlock. SQLite runs one writer at a time already; other backends get no lock.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        for name in names
    )
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def key_share_lock(model: type[Model], pk: int) -> bool:
    """Lock ``model``'s row ``pk`` against deletion (``FOR KEY SHARE``) until the transaction ends.

    What a foreign key to the row needs: concurrent readers and inserts referencing the row
    go on, a concurrent ``DELETE`` waits (and then sees the reference). Returns whether the
    row exists. Elsewhere than PostgreSQL it only checks existence.
    """
    suffix = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = model._meta.pk.column
    assert pk_column is not None  # noqa: S101  (a concrete model's primary key has a column)
    column = connection.ops.quote_name(pk_column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE {column} = %s{suffix}", [pk])  # noqa: S608  (names from the model's own meta, quoted)
        return cursor.fetchone() is not None
