"""The search vector also holds the option values of a product's variants (PostgreSQL only).

Migration 0004's trigger keeps ``nexus_shop_product.search_vector`` equal to the name
(weight 'A') and the description ('B'). ``q=red mug`` must also find a mug sold in a Red
variant, so the vector takes ``option_words`` too (weight 'C', below the name and the
description: "red" in a name ranks above a red variant). ``option_words`` is the live
variants' option values, space-separated, kept on the product row by
``services.summary.refresh_summary`` in the transaction of every variant write; so the
trigger now also fires on ``UPDATE OF option_words``, and a stock or price write still does
not pay for it.

As in 0004: the trigger function is replaced first (from then on every write is right),
then the rows that have option values are recomputed in batches of ``BATCH`` ids, each its
own short transaction (no long lock, bloat of one batch at most). Rows without options
(every product before issue 17) already hold the right vector: an empty ``option_words``
adds nothing.
Not atomic, and idempotent: run again, it recomputes the same vectors. Backwards restores
0004's function and trigger and recomputes the same rows without their option values.
The search dictionaries of 0006 follow ``search_vector`` through their own triggers.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 20_000

VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce({t}name, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce({t}description, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce({t}option_words, '')), 'C')"
)
OLD_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, coalesce({t}name, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce({t}description, '')), 'B')"
)

FUNCTION = """
CREATE OR REPLACE FUNCTION nexus_shop_product_search_vector() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := {vector};
    RETURN NEW;
END
$$
"""

TRIGGER = """
CREATE OR REPLACE TRIGGER nexus_shop_product_search_vector
BEFORE INSERT OR UPDATE OF {columns} ON nexus_shop_product
FOR EACH ROW EXECUTE FUNCTION nexus_shop_product_search_vector()
"""

RECOMPUTE = (  # constant SQL; the id bounds are bound parameters
    "UPDATE nexus_shop_product SET search_vector = {vector} "
    "WHERE id >= %s AND id < %s AND option_words <> ''"
)


def _apply(schema_editor: Any, *, vector: str, columns: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION.format(vector=vector.format(t="NEW.")))
        cursor.execute(TRIGGER.format(columns=columns))
        cursor.execute("SELECT min(id), max(id) FROM nexus_shop_product WHERE option_words <> ''")
        low, high = cursor.fetchone()
        if low is not None:
            recompute = RECOMPUTE.format(vector=vector.format(t=""))
            for start in range(low, high + 1, BATCH):
                cursor.execute(recompute, [start, start + BATCH])


def forwards(apps: Any, schema_editor: Any) -> None:
    _apply(schema_editor, vector=VECTOR, columns="name, description, option_words")


def backwards(apps: Any, schema_editor: Any) -> None:
    _apply(schema_editor, vector=OLD_VECTOR, columns="name, description")


class Migration(migrations.Migration):
    # Each batch commits on its own (see 0004).
    atomic = False

    dependencies = [("nexus_shop", "0011_variants_required")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
