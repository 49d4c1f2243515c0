"""Writing the demo catalogue: rows only, never the schema.

The loader inserts rows and, for ``--clear``, deletes them. It issues no DDL on the app's
tables: no index or constraint is dropped, disabled or re-created, and nothing is
truncated, so it is safe in a host's database, next to the host's own foreign keys and
while other connections read the catalogue. What it may change for speed is the load's
own transaction settings (``SET LOCAL``), which end with it.

On PostgreSQL with psycopg 3 the products go in by ``COPY ... FROM STDIN`` naming its
columns (so a column the database generates, such as a stored search vector, is computed
by PostgreSQL); elsewhere by ``INSERT`` with the values prepared by the model's fields.
Either way every column is given explicitly, ``created_at`` included: the model field's
``auto_now_add`` is not consulted, let alone switched off. Then ``ANALYZE`` (and
``VACUUM`` when not inside a transaction) gives the planner statistics for the new rows.
(A variant that drops and rebuilds the indexes around the load, for benchmark databases
only, lives in ``benchmarks/seed_unsafe.py``.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Field

from nexus_shop import invalidation
from nexus_shop.models import Category, Product
from nexus_shop.seeding.generate import PRODUCT_COLUMNS, CategorySpec
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


def batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
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
    """``(products, categories)``; soft-deleted products count."""
    return Product.all_objects.count(), Category.objects.count()


def clear_catalogue() -> tuple[int, int]:
    """Hard-delete every product (soft-deleted ones too) and every category, with ``DELETE``.

    Not ``TRUNCATE``: a DELETE through the ORM honours the ``on_delete`` rules of every
    model pointing at products or categories (a host's ``PROTECT`` refuses, its
    ``CASCADE`` follows), takes row locks rather than locking whole tables against
    readers, and needs no privilege beyond the app's usual ones. It is slower on a large
    catalogue; ``--clear`` is for demo and benchmark databases. Returns what was deleted.
    """
    product_ids = list(Product.all_objects.values_list("pk", flat=True))
    category_ids = list(Category.objects.values_list("pk", flat=True))
    invalidation.products_changed(product_ids=product_ids)
    invalidation.categories_changed(category_ids=category_ids)
    Product.all_objects.all().delete()
    # Detach children first: ``parent`` is PROTECT, and the collector checks it row by row.
    Category.objects.exclude(parent=None).update(parent=None)
    Category.objects.all().delete()
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


def _product_fields() -> list[Field[Any, Any]]:
    return [Product._meta.get_field(name) for name in PRODUCT_COLUMNS]  # type: ignore[misc]  # concrete fields only


def _insert_sql(fields: list[Field[Any, Any]], *, copy: bool) -> str:
    quote = connection.ops.quote_name
    table = quote(Product._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)  # type: ignore[arg-type]  # concrete fields have columns
    if copy:
        return f"COPY {table} ({columns}) FROM STDIN"
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608  (names from the model's meta, quoted)


def write_products(rows_in_batches: Iterable[list[Row]], progress: Progress) -> int:
    """Insert product rows (in :data:`PRODUCT_COLUMNS` order); returns how many."""
    fields = _product_fields()
    written = 0
    with connection.cursor() as cursor:
        if can_copy():
            # Settings of this transaction only: a bigger GIN pending list (the search
            # indexes take new rows in bulk) and memory for sorting it out.
            cursor.execute("SET LOCAL gin_pending_list_limit = '64MB'")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            sql = _insert_sql(fields, copy=True)
            for batch in rows_in_batches:
                with cursor.copy(sql) as copy:
                    for row in batch:
                        copy.write_row(row)
                written += len(batch)
                progress.update(written)
        else:
            sql = _insert_sql(fields, copy=False)
            for batch in rows_in_batches:
                prepared = [
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                    for row in batch
                ]
                cursor.executemany(sql, prepared)
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
            for model in (Category, Product):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
    if apps.is_installed("cachalot"):
        # COPY bypasses cachalot's query hooks; drop whatever it cached for these tables.
        from cachalot.api import invalidate  # optional dependency

        invalidate(Category, Product)
    invalidation.catalogue_changed()  # the response cache and CDNs: drop the whole catalogue
