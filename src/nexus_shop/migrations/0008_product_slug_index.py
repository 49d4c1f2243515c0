"""Product.slug loses SlugField's default index and, on PostgreSQL, its LIKE twin.

Slugs are looked up among live products only (derivation, restore, the admin), and the
partial unique constraint ``nexus_shop_product_live_slug_uniq`` indexes exactly those. The
two plain indexes served no query, took 160 MB at a million products, and cost every
insert two more index writes (about 5 s of a million-product seed).

The indexes are dropped by name, not by ``AlterField``: Django's schema editor, asked to
drop a field's ``db_index``, drops every single-column index on it that ``Meta.indexes``
does not name, and that includes the unique index behind the conditional
``UniqueConstraint``. The names are the ones migration 0001 created.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

INDEXES = ["nexus_shop_product_slug_80d2a385", "nexus_shop_product_slug_80d2a385_like"]


def forwards(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def backwards(apps: Any, schema_editor: Any) -> None:
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {quote(INDEXES[0])} ON nexus_shop_product (slug)")
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE INDEX {quote(INDEXES[1])} ON nexus_shop_product (slug varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [("nexus_shop", "0007_search_vector_index_for_all_rows")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="product",
                    name="slug",
                    field=models.SlugField(db_index=False, max_length=255),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
        ),
    ]
