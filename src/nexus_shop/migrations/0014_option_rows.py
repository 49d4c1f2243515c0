"""Option rows carry their variant's price and stock, for live, active variants only.

``option=`` filters and option facets read :class:`~nexus_shop.models.VariantOption`.
Until now each row was joined to its variant, to skip inactive and deleted variants and to
apply the price and ``in_stock`` filters to the same variant; at a million products that
read all 2.3 million variants for one count (0.6 s), or, with a price filter in a facet,
drove the whole statement from them (5 s). From now on:

- a row exists only for a live, active variant (the others' rows are deleted here);
- it carries the variant's ``price`` and ``in_stock``
  (:func:`nexus_shop.services.summary.sync_option_rows` keeps them; the checkout's stock
  crossing zero updates ``in_stock``);
- the (name, value) index lists product ids with price and stock, and the (variant, name)
  constraint's index the value, so counts read indexes only; the public products'
  category index gains their ids, so a category's products join them from the index.

The foreign keys' own indexes go: the composite indexes start with the same columns.

On PostgreSQL the rows are filled by one ``UPDATE ... FROM``; the migration holds the
option rows' table for its length (on the benchmark's million products: see
``docs/variants.md``). Backwards, the deleted rows are written again from the variants'
``options``.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q, Subquery


def fill(apps: Any, schema_editor: Any) -> None:
    ProductVariant = apps.get_model("nexus_shop", "ProductVariant")
    VariantOption = apps.get_model("nexus_shop", "VariantOption")
    unlisted = ProductVariant.objects.filter(Q(deleted_at__isnull=False) | Q(is_active=False))
    VariantOption.objects.filter(variant__in=unlisted.values("pk")).delete()
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "UPDATE nexus_shop_variantoption o SET price = v.price, in_stock = v.stock > 0 "
            "FROM nexus_shop_productvariant v WHERE v.id = o.variant_id"
        )
        return
    variant = ProductVariant.objects.filter(pk=OuterRef("variant_id"))
    VariantOption.objects.update(
        price=Subquery(variant.values("price")[:1]),
        # nexus_shop.models.catalog.IN_STOCK, as it was when this was written.
        in_stock=Exists(variant.filter(stock__gt=0)),
    )


def write_unlisted(apps: Any, schema_editor: Any) -> None:
    ProductVariant = apps.get_model("nexus_shop", "ProductVariant")
    VariantOption = apps.get_model("nexus_shop", "VariantOption")
    unlisted = ProductVariant.objects.filter(Q(deleted_at__isnull=False) | Q(is_active=False))
    batch: list[Any] = []
    for variant in unlisted.only("pk", "product_id", "options").iterator(chunk_size=2_000):
        batch += [
            VariantOption(
                variant_id=variant.pk,
                product_id=variant.product_id,
                name=name,
                value=value,
                # nexus_shop.models.catalog.option_key, as it was when this was written.
                name_key=name.casefold(),
                value_key=value.casefold(),
            )
            for name, value in variant.options.items()
        ]
        if len(batch) >= 5_000:
            VariantOption.objects.bulk_create(batch)
            batch = []
    VariantOption.objects.bulk_create(batch)


TABLE = "nexus_shop_variantoption"
UNIQUE = "nexus_shop_variantoption_uniq"
VALUE_INDEX = "nexus_shop_varopt_value_idx"


def _postgres(schema_editor: Any) -> bool:
    return bool(schema_editor.connection.vendor == "postgresql")


def drop_old_indexes(apps: Any, schema_editor: Any) -> None:
    """Before the rows are filled, so the ``UPDATE`` writes fewer index entries."""
    schema_editor.execute(f"DROP INDEX IF EXISTS {VALUE_INDEX}")
    if _postgres(schema_editor):
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {UNIQUE}")


def make_old_indexes(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        f"CREATE INDEX {VALUE_INDEX} ON {TABLE} (name_key, value_key, variant_id)"
    )
    if _postgres(schema_editor):
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {UNIQUE} UNIQUE (variant_id, name_key)"
        )


def make_new_indexes(apps: Any, schema_editor: Any) -> None:
    """The (name, value) index by product; on PostgreSQL both indexes cover what counts
    read (INCLUDE), which SQLite cannot declare (see ``VariantOption.Meta``)."""
    if not _postgres(schema_editor):
        schema_editor.execute(
            f"CREATE INDEX {VALUE_INDEX} ON {TABLE} (name_key, value_key, product_id)"
        )
        return
    schema_editor.execute(
        f"CREATE INDEX {VALUE_INDEX} ON {TABLE} (name_key, value_key, product_id) "
        "INCLUDE (variant_id, price, in_stock)"
    )
    schema_editor.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {UNIQUE} UNIQUE (variant_id, name_key) "
        "INCLUDE (value_key)"
    )


def drop_new_indexes(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {VALUE_INDEX}")
    if _postgres(schema_editor):
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {UNIQUE}")


# A value names its option (no "m" but of "size"): without the pair's own statistics the
# planner multiplied the two selectivities and expected a third of size M's 166,000 rows,
# and chose a plan reading a whole category for option=size:m&category=... (1.3 s, against
# 0.25 s with them, at a million products).
STATISTICS = "nexus_shop_varopt_value_stats"


def make_statistics(apps: Any, schema_editor: Any) -> None:
    if _postgres(schema_editor):
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv) ON name_key, value_key "
            f"FROM {TABLE}"
        )
        schema_editor.execute(f"ANALYZE {TABLE}")


def drop_statistics(apps: Any, schema_editor: Any) -> None:
    if _postgres(schema_editor):
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


PUBLIC = Q(deleted_at__isnull=True) & Q(is_active=True, active_variant_count__gt=0)


class Migration(migrations.Migration):
    dependencies = [("nexus_shop", "0013_product_price_max_index")]

    operations = [
        # The foreign keys' own indexes go (the composite indexes start with their columns),
        # and the indexes the fill would rewrite are made again after it.
        migrations.AlterField(
            model_name="variantoption",
            name="variant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="option_rows",
                to="nexus_shop.productvariant",
            ),
        ),
        migrations.AlterField(
            model_name="variantoption",
            name="product",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="+",
                to="nexus_shop.product",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(drop_old_indexes, make_old_indexes, elidable=False)
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="variantoption", name=VALUE_INDEX),
            ],
        ),
        migrations.AddField(
            model_name="variantoption",
            name="price",
            field=models.DecimalField(decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name="variantoption", name="in_stock", field=models.BooleanField(default=False)
        ),
        migrations.RunPython(fill, write_unlisted, elidable=False),
        migrations.AlterField(
            model_name="variantoption",
            name="price",
            field=models.DecimalField(decimal_places=2, max_digits=12),
        ),
        migrations.AlterField(
            model_name="variantoption", name="in_stock", field=models.BooleanField()
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(make_new_indexes, drop_new_indexes, elidable=False)
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="variantoption",
                    index=models.Index(
                        fields=["name_key", "value_key", "product"], name=VALUE_INDEX
                    ),
                ),
            ],
        ),
        migrations.RunPython(make_statistics, drop_statistics, elidable=False),
        migrations.RemoveIndex(model_name="product", name="nexus_shop_prod_public_idx"),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["category", "id"], condition=PUBLIC, name="nexus_shop_prod_public_idx"
            ),
        ),
    ]
