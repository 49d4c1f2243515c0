"""Every product has its variants now: lines must name one, ``price_max`` is required.

Schema-wise: cart and order lines' ``variant`` becomes NOT NULL and a cart holds a variant
once; ``price_max`` becomes NOT NULL and at least ``price``; the public-products index
counts products with an active variant.

On PostgreSQL the same schema is reached without holding the product table (or the line
tables) exclusively while it is scanned, which on a catalogue of 1,000,000 products took
seconds of blocked reads and writes:

* NOT NULL: a ``CHECK (column IS NOT NULL) NOT VALID`` is validated under a lock that lets
  reads and writes go on, and then ``SET NOT NULL`` skips its scan (PostgreSQL 12+ trusts
  the validated check), and the helper check goes;
* the ``price_max >= price`` check: added ``NOT VALID``, then validated;
* indexes: ``CREATE INDEX CONCURRENTLY`` (the public index is built beside the old one and
  swapped in by name; the cart lines' unique index becomes their constraint).

So the migration is not atomic there: each statement commits on its own, and each can be
run again after a failure (the ``IF EXISTS`` guards). Other databases (SQLite) run the
plain operations, in one transaction. Backwards, every database runs the plain
operations' reverse, which first merges a cart's lines of several variants of one product
(:func:`merge_lines`).
"""

from decimal import Decimal
from typing import Any

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models, transaction

# Before variants a cart held a product once: lines of several variants of one product are
# merged into the first (quantities added, up to the line's limit of 1,000), so that
# the one-line-per-product constraint can come back.
MERGE_LINES = """
UPDATE nexus_shop_cartline SET quantity = (
    SELECT CASE WHEN SUM(o.quantity) > 1000 THEN 1000 ELSE SUM(o.quantity) END
    FROM nexus_shop_cartline o
    WHERE o.cart_id = nexus_shop_cartline.cart_id AND o.product_id = nexus_shop_cartline.product_id
)
WHERE id IN (
    SELECT MIN(id) FROM nexus_shop_cartline GROUP BY cart_id, product_id HAVING COUNT(*) > 1
)
"""
DROP_MERGED_LINES = """
DELETE FROM nexus_shop_cartline
WHERE id NOT IN (SELECT MIN(id) FROM nexus_shop_cartline GROUP BY cart_id, product_id)
"""


def merge_lines(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    # One transaction: the migration is not atomic, and a merge run twice would add twice.
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(MERGE_LINES)
        cursor.execute(DROP_MERGED_LINES)


OPERATIONS = [
    migrations.RemoveConstraint(
        model_name="cartline",
        name="nexus_shop_cartline_product_uniq",
    ),
    # Backwards only, just before the constraint above comes back.
    migrations.RunPython(migrations.RunPython.noop, merge_lines, elidable=False),
    migrations.RemoveIndex(
        model_name="product",
        name="nexus_shop_prod_public_idx",
    ),
    migrations.AlterField(
        model_name="cartline",
        name="variant",
        field=models.ForeignKey(
            on_delete=django.db.models.deletion.CASCADE,
            related_name="+",
            to="nexus_shop.productvariant",
        ),
    ),
    migrations.AlterField(
        model_name="orderline",
        name="variant",
        field=models.ForeignKey(
            on_delete=django.db.models.deletion.PROTECT,
            related_name="+",
            to="nexus_shop.productvariant",
        ),
    ),
    migrations.AlterField(
        model_name="product",
        name="price_max",
        field=models.DecimalField(
            decimal_places=2,
            max_digits=12,
            validators=[django.core.validators.MinValueValidator(Decimal("0"))],
        ),
    ),
    migrations.AddIndex(
        model_name="product",
        index=models.Index(
            condition=models.Q(
                ("deleted_at__isnull", True), ("active_variant_count__gt", 0), ("is_active", True)
            ),
            fields=["category"],
            name="nexus_shop_prod_public_idx",
        ),
    ),
    migrations.AddConstraint(
        model_name="cartline",
        constraint=models.UniqueConstraint(
            fields=("cart", "variant"), name="nexus_shop_cartline_variant_uniq"
        ),
    ),
    migrations.AddConstraint(
        model_name="product",
        constraint=models.CheckConstraint(
            condition=models.Q(("price_max__gte", models.F("price"))),
            name="nexus_shop_product_price_max_gte_price",
        ),
    ),
]

_NOT_NULL = (
    ("nexus_shop_cartline", "variant_id"),
    ("nexus_shop_orderline", "variant_id"),
    ("nexus_shop_product", "price_max"),
)


def _set_not_null(table: str, column: str) -> list[str]:
    check = f"{table}_{column}_nn"
    return [
        f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {check}",
        f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID",
        f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}",
        f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL",
        f"ALTER TABLE {table} DROP CONSTRAINT {check}",
    ]


POSTGRESQL_FORWARDS = [
    "ALTER TABLE nexus_shop_cartline DROP CONSTRAINT IF EXISTS nexus_shop_cartline_product_uniq",
    *(statement for table, column in _NOT_NULL for statement in _set_not_null(table, column)),
    # The public index on its new condition, built beside the old one, then swapped in.
    "DROP INDEX CONCURRENTLY IF EXISTS nexus_shop_prod_public_new",
    "CREATE INDEX CONCURRENTLY nexus_shop_prod_public_new ON nexus_shop_product (category_id) "
    "WHERE (deleted_at IS NULL AND active_variant_count > 0 AND is_active)",
    "DROP INDEX CONCURRENTLY IF EXISTS nexus_shop_prod_public_idx",
    "ALTER INDEX nexus_shop_prod_public_new RENAME TO nexus_shop_prod_public_idx",
    # A cart holds a variant once: the unique index first, then the constraint on it.
    "ALTER TABLE nexus_shop_cartline DROP CONSTRAINT IF EXISTS nexus_shop_cartline_variant_uniq",
    "DROP INDEX CONCURRENTLY IF EXISTS nexus_shop_cartline_variant_uniq",
    "CREATE UNIQUE INDEX CONCURRENTLY nexus_shop_cartline_variant_uniq "
    "ON nexus_shop_cartline (cart_id, variant_id)",
    "ALTER TABLE nexus_shop_cartline ADD CONSTRAINT nexus_shop_cartline_variant_uniq "
    "UNIQUE USING INDEX nexus_shop_cartline_variant_uniq",
    # price_max >= price, validated while the shop runs.
    "ALTER TABLE nexus_shop_product DROP CONSTRAINT IF EXISTS "
    "nexus_shop_product_price_max_gte_price",
    "ALTER TABLE nexus_shop_product ADD CONSTRAINT nexus_shop_product_price_max_gte_price "
    "CHECK (price_max >= price) NOT VALID",
    "ALTER TABLE nexus_shop_product VALIDATE CONSTRAINT nexus_shop_product_price_max_gte_price",
]


class OnlineOnPostgreSQL(migrations.SeparateDatabaseAndState):
    """``operations``' state everywhere; forwards on PostgreSQL, ``statements`` instead."""

    def __init__(self, operations: list[Any], statements: list[str]) -> None:
        super().__init__(database_operations=operations, state_operations=operations)
        self.statements = statements

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (
            self.__class__.__qualname__,
            [],
            {"operations": self.state_operations, "statements": self.statements},
        )

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            with transaction.atomic(using=connection.alias):  # all or nothing, as before
                super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        for statement in self.statements:
            schema_editor.execute(statement, params=None)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            with transaction.atomic(using=connection.alias):
                super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return "Lines need a variant, price_max is required (online on PostgreSQL)"


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction (see above)

    dependencies = [
        ("nexus_shop", "0010_default_variants"),
    ]

    operations = [OnlineOnPostgreSQL(OPERATIONS, POSTGRESQL_FORWARDS)]
