"""Writing the demo catalogue: rows only, never the schema.

The loader inserts rows and, for ``--clear``, deletes them. It issues no DDL on the app's
tables: no index or constraint is dropped, disabled or re-created, and nothing is
truncated, so it is safe in a host's database, next to the host's own foreign keys and
while other connections read the catalogue. What it may change for speed is the load's
own transaction settings (``SET LOCAL``), which end with it.

Each batch of products goes in with its variants and their option rows, with ids
reserved up front (:func:`reserve_ids`) so nothing is read back. On PostgreSQL with
psycopg 3 the rows go in by ``COPY ... FROM STDIN`` naming their columns (so a column
the database generates, such as a stored search vector, is computed by PostgreSQL);
elsewhere by ``INSERT`` with the values prepared by the model's fields. Either way every
column is given explicitly, ``created_at`` included: the model field's ``auto_now_add``
is not consulted, let alone switched off. Then ``ANALYZE`` (and ``VACUUM`` when not
inside a transaction) gives the planner statistics for the new rows.
(A variant that drops and rebuilds the indexes around the load, for benchmark databases
only, lives in ``benchmarks/seed_unsafe.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.apps import apps
from django.db import connection
from django.db.models import Field, JSONField, Model

from nexus_shop import invalidation
from nexus_shop.models import Category, Product, ProductVariant, VariantOption
from nexus_shop.models.catalog import in_stock, option_key
from nexus_shop.seeding.generate import (
    OPTION_COLUMNS,
    PRODUCT_COLUMNS,
    VARIANT_COLUMNS,
    CategorySpec,
    ProductDraft,
)
from nexus_shop.seeding.progress import Progress

__all__ = [
    "analyze",
    "batches",
    "can_copy",
    "catalogue_size",
    "clear_catalogue",
    "create_categories",
    "write_products",
]

Row = tuple[Any, ...]
T = TypeVar("T")
# A variant is stamped like its product (created with it; deleted with it, if ever).
_STAMPS = tuple(PRODUCT_COLUMNS.index(name) for name in ("created_at", "updated_at", "deleted_at"))


def batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def can_copy() -> bool:
    """Whether this connection can ``COPY``: PostgreSQL through psycopg 3."""
    if connection.vendor != "postgresql":
        return False
    # Not at the top: importing it needs a PostgreSQL driver, which is optional.
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def catalogue_size() -> tuple[int, int]:
    """``(products, categories)``; soft-deleted ones count."""
    return Product.all_objects.count(), Category.all_objects.count()


def clear_catalogue() -> tuple[int, int]:
    """Hard-delete every product and category (soft-deleted ones too), with ``DELETE``.

    Not ``TRUNCATE``: a DELETE through the ORM honours the ``on_delete`` rules of every
    model pointing at products or categories (a host's ``PROTECT`` refuses, its
    ``CASCADE`` follows), takes row locks rather than locking whole tables against
    readers, and needs no privilege beyond the app's usual ones. It is slower on a large
    catalogue; ``--clear`` is for demo and benchmark databases. Returns what was deleted.
    """
    product_ids = list(Product.all_objects.values_list("pk", flat=True))
    category_ids = list(Category.all_objects.values_list("pk", flat=True))
    invalidation.products_changed(product_ids=product_ids)
    invalidation.categories_changed(category_ids=category_ids)
    Product.all_objects.all().delete()
    # Detach children first: ``parent`` is PROTECT, and the collector checks it row by row.
    Category.all_objects.exclude(parent=None).update(parent=None)
    Category.all_objects.all().delete()
    return len(product_ids), len(category_ids)


def create_categories(levels: list[list[CategorySpec]], progress: Progress) -> int:
    """Insert level by level, then set ``path`` = parent path + own pk, as the services do."""
    written = 0
    can_return = connection.features.can_return_rows_from_bulk_insert
    for level in levels:
        objects = [
            Category(
                name=spec.name,
                slug=spec.slug,
                description=spec.description,
                parent_id=spec.parent.pk if spec.parent else None,
            )
            for spec in level
        ]
        Category.objects.bulk_create(objects, batch_size=1000)
        if not can_return:  # pragma: no cover  (PostgreSQL and SQLite return ids)
            pks = dict(
                Category.objects.filter(slug__in=[o.slug for o in objects]).values_list(
                    "slug", "pk"
                )
            )
            for obj in objects:
                obj.pk = pks[obj.slug]
        for spec, obj in zip(level, objects, strict=True):
            spec.pk = obj.pk
            spec.path = f"{spec.parent.path if spec.parent else '/'}{obj.pk}/"
            obj.path = spec.path
        Category.objects.bulk_update(objects, ["path"], batch_size=1000)
        invalidation.categories_changed(category_ids=[obj.pk for obj in objects])
        written += len(objects)
        progress.update(written)
    return written


def _fields(model: type[Model], names: Sequence[str]) -> list[Field[Any, Any]]:
    return [model._meta.get_field(name) for name in names]  # type: ignore[misc]  # concrete fields only


def _insert_sql(model: type[Model], fields: list[Field[Any, Any]], *, copy: bool) -> str:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)  # type: ignore[arg-type]  # concrete fields have columns
    if copy:
        return f"COPY {table} ({columns}) FROM STDIN"
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608  (names from the model's meta, quoted)


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """``count`` primary keys for rows written with explicit ids (variants need theirs).

    On PostgreSQL they come from the table's own sequence, so rows inserted later by the
    services never collide with them. Elsewhere (SQLite: one writer at a time, and the
    seed holds the write lock from its first insert) they follow the highest id in use.
    """
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608  (the model's table)
        high: int = cursor.fetchone()[0]
        return list(range(high + 1, high + 1 + count))


class _Writer:
    """One table's writes: ``COPY`` on PostgreSQL with psycopg 3, ``INSERT`` elsewhere."""

    def __init__(self, cursor: Any, model: type[Model], names: Sequence[str], *, copy: bool):
        self.cursor = cursor
        self.fields = _fields(model, names)
        self.copy = copy
        self.sql = _insert_sql(model, self.fields, copy=copy)
        # JSON columns: COPY takes their text; INSERT, the field's own preparation.
        self.json = [isinstance(f, JSONField) for f in self.fields]

    def write(self, rows: list[Row]) -> None:
        if not rows:
            return
        if self.copy:
            json_at = [i for i, is_json in enumerate(self.json) if is_json]
            with self.cursor.copy(self.sql) as copy:
                for row in rows:
                    if json_at:
                        values = list(row)
                        for i in json_at:
                            values[i] = json.dumps(values[i], ensure_ascii=False)
                        copy.write_row(values)
                    else:
                        copy.write_row(row)
        else:
            fields = self.fields
            self.cursor.executemany(
                self.sql,
                [
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                    for row in rows
                ],
            )


def write_products(drafts_in_batches: Iterable[list[ProductDraft]], progress: Progress) -> int:
    """Insert products, their variants and the variants' option rows; returns how many products.

    Ids are reserved first (:func:`reserve_ids`), so one pass writes all three tables
    without reading anything back.
    """
    written = 0
    copy = can_copy()
    with connection.cursor() as cursor:
        if copy:
            # Settings of this transaction only: a bigger GIN pending list (the search
            # indexes take new rows in bulk) and memory for sorting it out.
            cursor.execute("SET LOCAL gin_pending_list_limit = '64MB'")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        products = _Writer(cursor, Product, ("id", *PRODUCT_COLUMNS), copy=copy)
        variants = _Writer(cursor, ProductVariant, ("id", *VARIANT_COLUMNS), copy=copy)
        options = _Writer(cursor, VariantOption, OPTION_COLUMNS, copy=copy)
        for batch in drafts_in_batches:
            product_ids = reserve_ids(Product, len(batch))
            variant_ids = iter(reserve_ids(ProductVariant, sum(len(d.variants) for d in batch)))
            variant_rows: list[Row] = []
            option_rows: list[Row] = []
            for product_id, draft in zip(product_ids, batch, strict=True):
                stamps = [draft.row[i] for i in _STAMPS]
                for variant in draft.variants:
                    variant_id = next(variant_ids)
                    variant_rows.append(
                        (
                            variant_id,
                            product_id,
                            variant.sku,
                            variant.options,
                            variant.combination,
                            variant.price,
                            variant.compare_at_price,
                            variant.stock,
                            variant.is_active,
                            variant.position,
                            *stamps,
                        )
                    )
                    if not variant.is_active or stamps[2] is not None:
                        continue  # option rows list live, active variants only
                    for name, value in variant.options.items():
                        option_rows.append(
                            (
                                variant_id,
                                product_id,
                                name,
                                value,
                                option_key(name),
                                option_key(value),
                                variant.price,
                                in_stock(variant.stock),
                            )
                        )
            products.write([(pk, *d.row) for pk, d in zip(product_ids, batch, strict=True)])
            variants.write(variant_rows)
            options.write(option_rows)
            written += len(batch)
            progress.update(written)
    return written


def analyze() -> None:
    """Fresh planner statistics for both tables; and, outside a transaction, VACUUM too.

    VACUUM fills the visibility map, without which counting a category's products reads
    every row instead of the index alone.
    """
    if connection.vendor == "postgresql":
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in (Category, Product, ProductVariant, VariantOption):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
    if apps.is_installed("cachalot"):
        # COPY bypasses cachalot's query hooks; drop whatever it cached for these tables.
        from cachalot.api import invalidate  # optional dependency

        invalidate(Category, Product, ProductVariant, VariantOption)
    invalidation.catalogue_changed()  # the response cache and CDNs: drop the whole catalogue
