"""The seed with the product table's indexes and foreign keys dropped for the load.

(Only the product table's: the variant and option rows go in with their indexes, as in
``nexus_shop_seed``.)

NOT for a host's database: it runs DDL on nexus_shop's tables (DROP INDEX, ALTER TABLE ...
DROP/ADD CONSTRAINT) and holds an exclusive lock on the product table until it commits.
That is why it lives here and not in ``nexus_shop_seed``, which writes rows only. On a
scratch benchmark database it shows what rebuilding the indexes once, rather than
updating them row by row, is worth (see "Populating a Database" in the PostgreSQL
manual): the same rows as ``nexus_shop_seed --products N --categories C --seed S``.

    DATABASE_URL=postgres://.../scratch PYTHONPATH=src:. \\
        python benchmarks/seed_unsafe.py --products 1000000 --categories 200

The database must be migrated and its catalogue empty. ``benchmarks/seed.py --unsafe``
runs it on a throwaway database and times it next to the safe command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402  (after the path and settings above)

django.setup()

from django.core.management.base import OutputWrapper  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from nexus_shop.models import Product  # noqa: E402
from nexus_shop.seeding import load  # noqa: E402
from nexus_shop.seeding.generate import (  # noqa: E402
    generate_products,
    plan_categories,
    variant_random,
)
from nexus_shop.seeding.progress import Progress  # noqa: E402


@contextlib.contextmanager
def indexes_dropped() -> Iterator[None]:
    """Drop the product table's indexes (but the primary key's) and foreign keys; re-add."""
    quote = connection.ops.quote_name
    table = quote(Product._meta.db_table)
    with connection.cursor() as cursor:
        # ALTER TABLE refuses to run while deferred foreign-key checks are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY i.indexrelid",
            [table],
        )
        indexes: list[tuple[str, str]] = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        foreign_keys: list[tuple[str, str]] = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--categories", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("PostgreSQL only (set DATABASE_URL to a scratch database)")
    if any(load.catalogue_size()):
        raise SystemExit("the catalogue is not empty")

    started = time.monotonic()
    rng = random.Random(args.seed)  # noqa: S311  (demo data, reproducible on purpose)
    levels = plan_categories(rng, args.categories)
    quiet = Progress(OutputWrapper(sys.stderr), total=0, label="", enabled=False)
    with transaction.atomic():
        load.create_categories(levels, quiet)
        specs = [spec for level in levels for spec in level]
        now = timezone.now().replace(microsecond=0)
        drafts = generate_products(
            rng,
            count=args.products,
            categories=specs,
            now=now,
            variant_rng=variant_random(args.seed),
        )
        with indexes_dropped():
            load.write_products(load.batches(drafts, args.batch_size), quiet)
    load.analyze()
    elapsed = time.monotonic() - started
    print(f"seeded {args.products:,} products in {elapsed:.1f}s (indexes dropped)")


if __name__ == "__main__":
    main()
