"""A stored full-text vector on PostgreSQL; a no-op on other backends.

``nexus_shop_product.search_vector`` holds the weighted vector of the product (name 'A',
description 'B') that migration 0002 indexed as an expression. Searching reads it instead
of re-parsing the text of every candidate row (the recheck of a bitmap scan and
``ts_rank`` each did), and it has its own GIN index.

Why not ``GENERATED ALWAYS AS (...) STORED``: adding a stored generated column rewrites the
whole table under an ACCESS EXCLUSIVE lock (about a minute for a million products, during
which every read and write of the catalogue waits). Instead:

1. the column is added as a plain, nullable ``tsvector`` (a catalogue-only change, instant);
2. a trigger keeps it equal to the expression on every INSERT and on every UPDATE that
   touches ``name`` or ``description``, in the writing statement: services, the admin,
   ``bulk_create``, the seed command's COPY and any raw SQL all keep it fresh, and a stock
   or price update does not pay for it;
3. existing rows are backfilled in batches of ``BATCH`` ids, each its own short
   transaction, so no lock is held for long and the table never bloats by more than one
   batch;
4. the GIN index is built ``CONCURRENTLY`` (writes go on meanwhile), and then the old
   expression index is dropped the same way.

So the migration is not atomic: if it stops half-way, running it again picks up where it
left off (each step is idempotent, and the backfill only fills NULLs). The column is not
a model field, since SQLite has no ``tsvector``; the selectors name it in SQL on
PostgreSQL only (``nexus_shop.selectors.search.SEARCH_VECTOR_SQL``). The vector expression
is ``VECTOR`` below.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 20_000

VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce({t}name, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce({t}description, '')), 'B')"
)

ADD_COLUMN = "ALTER TABLE nexus_shop_product ADD COLUMN IF NOT EXISTS search_vector tsvector"

TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION nexus_shop_product_search_vector() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := {VECTOR.format(t="NEW.")};
    RETURN NEW;
END
$$
"""

TRIGGER = """
CREATE OR REPLACE TRIGGER nexus_shop_product_search_vector
BEFORE INSERT OR UPDATE OF name, description ON nexus_shop_product
FOR EACH ROW EXECUTE FUNCTION nexus_shop_product_search_vector()
"""

BACKFILL = (  # constant SQL; the id bounds are bound parameters
    f"UPDATE nexus_shop_product SET search_vector = {VECTOR.format(t='')} "  # noqa: S608
    "WHERE id >= %s AND id < %s AND search_vector IS NULL"
)

INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS nexus_shop_prod_search_vec_idx "
    "ON nexus_shop_product USING gin (search_vector) WHERE deleted_at IS NULL"
)
OLD_INDEX = "nexus_shop_prod_search_idx"
OLD_INDEX_DEFINITION = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD_INDEX} ON nexus_shop_product "
    f"USING gin (({VECTOR.format(t='')})) WHERE deleted_at IS NULL"
)


def forwards(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(ADD_COLUMN)
        cursor.execute(TRIGGER_FUNCTION)
        cursor.execute(TRIGGER)
        cursor.execute(
            "SELECT min(id), max(id) FROM nexus_shop_product WHERE search_vector IS NULL"
        )
        low, high = cursor.fetchone()
        if low is not None:
            for start in range(low, high + 1, BATCH):
                cursor.execute(BACKFILL, [start, start + BATCH])
        cursor.execute(INDEX)
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}")
        cursor.execute("ANALYZE nexus_shop_product")


def backwards(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(OLD_INDEX_DEFINITION)
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS nexus_shop_prod_search_vec_idx")
        cursor.execute(
            "DROP TRIGGER IF EXISTS nexus_shop_product_search_vector ON nexus_shop_product"
        )
        cursor.execute("DROP FUNCTION IF EXISTS nexus_shop_product_search_vector()")
        cursor.execute("ALTER TABLE nexus_shop_product DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    # Batches commit one by one, and CREATE/DROP INDEX CONCURRENTLY cannot run in a
    # transaction block.
    atomic = False

    dependencies = [("nexus_shop", "0003_public_products_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
