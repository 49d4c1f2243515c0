"""Every existing product gets its default variant; cart and order lines point at it.

Before variants, a product was one sku with one price and one stock count. This gives each
product the variant that carries them: same sku, price and stock, no option values,
active. ``price_max`` (the summary's highest price) becomes the price, and
``active_variant_count`` is 1 (the column's default). A soft-deleted product's variant is
deleted with it, at the same instant, so a restore brings it back (and a live product may
reuse the sku meanwhile, as before). Cart and order lines then name the variant of their
product.

Batched: ``BATCH`` product ids a statement, each batch its own short transaction, so no
lock is held for long, the table never bloats by more than a batch, and a stop half-way
is resumed by running the migration again (each step only fills what is missing). Plain
SQL, the same on PostgreSQL and SQLite.

Backwards, the variants are removed again (lines first; 0011's reverse has already merged a
cart's lines of several variants of one product). Products keep their summary
columns, which for a product that had one variant are its price and stock; a product that
had several keeps its lowest active price and its total stock, and loses its variants.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, transaction

# 5,000 products a transaction: on 1,000,000 products a 20,000 batch held its rows' locks
# (a restock or a checkout of one of them waited) for about 5 s on a loaded machine, almost
# all of it the price_max UPDATE's index maintenance; a quarter of that is a short wait,
# and the total time is the same (the work is per row, not per statement).
BATCH = 5_000

INSERT_VARIANTS = """
INSERT INTO nexus_shop_productvariant
    (product_id, sku, options, combination, price, compare_at_price, stock, is_active,
     position, created_at, updated_at, deleted_at)
SELECT p.id, p.sku, '{}', '', p.price, NULL, p.stock, TRUE, 0, p.created_at, p.updated_at,
       p.deleted_at
FROM nexus_shop_product p
WHERE p.id >= %s AND p.id < %s
  AND NOT EXISTS (SELECT 1 FROM nexus_shop_productvariant v WHERE v.product_id = p.id)
"""

FILL_PRICE_MAX = """
UPDATE nexus_shop_product SET price_max = price
WHERE id >= %s AND id < %s AND price_max IS NULL
"""

# Lines were unique per (cart, product) and each product has one variant here. Not
# ``SELECT MIN(v.id) ... WHERE v.product_id = ...``: PostgreSQL answers that MIN by walking
# the variants' primary key until a row of the product turns up, about half the table a
# line (measured: one batch of 5,000 cart lines ran for minutes on 1,000,000 variants);
# ORDER BY ... LIMIT 1 reads the product's own rows through nexus_shop_variant_prod_idx.
FILL_LINES = """
UPDATE {table} SET variant_id = (
    SELECT v.id FROM nexus_shop_productvariant v WHERE v.product_id = {table}.product_id
    ORDER BY v.position, v.id LIMIT 1
)
WHERE variant_id IS NULL AND id >= %s AND id < %s
"""


def _ranges(cursor: Any, table: str) -> list[tuple[int, int]]:
    cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table}")  # noqa: S608  (our table names)
    low, high = cursor.fetchone()
    if low is None:
        return []
    return [(start, start + BATCH) for start in range(low, high + 1, BATCH)]


def forwards(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for start, stop in _ranges(cursor, "nexus_shop_product"):
            with transaction.atomic(using=connection.alias):
                cursor.execute(INSERT_VARIANTS, [start, stop])
                cursor.execute(FILL_PRICE_MAX, [start, stop])
        for table in ("nexus_shop_cartline", "nexus_shop_orderline"):
            for start, stop in _ranges(cursor, table):
                with transaction.atomic(using=connection.alias):
                    cursor.execute(FILL_LINES.format(table=table), [start, stop])


def backwards(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table in ("nexus_shop_cartline", "nexus_shop_orderline"):
            for start, stop in _ranges(cursor, table):
                with transaction.atomic(using=connection.alias):
                    cursor.execute(
                        f"UPDATE {table} SET variant_id = NULL WHERE id >= %s AND id < %s",  # noqa: S608  (our table names)
                        [start, stop],
                    )
        for start, stop in _ranges(cursor, "nexus_shop_productvariant"):
            with transaction.atomic(using=connection.alias):
                cursor.execute(
                    "DELETE FROM nexus_shop_variantoption WHERE variant_id >= %s AND variant_id < %s",
                    [start, stop],
                )
                cursor.execute(
                    "DELETE FROM nexus_shop_productvariant WHERE id >= %s AND id < %s",
                    [start, stop],
                )


class Migration(migrations.Migration):
    atomic = False  # each batch commits on its own (see the module's docstring)

    dependencies = [("nexus_shop", "0009_variants")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
