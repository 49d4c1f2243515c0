"""Migrations: the models and the migrations agree, and the app migrates down and up again.

Runs on both backends (the suite's SQLite and PostgreSQL sessions), against the test
database: ``migrate nexus_shop zero`` drops every nexus_shop table, ``migrate`` builds
them again, and the app works afterwards.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from cachalot import api as cachalot_api
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from nexus_shop.models import Category, Product
from nexus_shop.services import catalog as services


@pytest.mark.django_db  # makemigrations checks the history it finds in the database
def test_makemigrations_finds_nothing_to_do() -> None:
    out = io.StringIO()
    # --check exits non-zero (SystemExit) when the models changed without a migration.
    call_command("makemigrations", "nexus_shop", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def _nexus_shop_tables() -> set[str]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    return {table for table in tables if table.startswith("nexus_shop_")}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_migrate_to_zero_and_back_round_trips(request: pytest.FixtureRequest) -> None:
    before = _nexus_shop_tables()
    assert {Category._meta.db_table, Product._meta.db_table} <= before

    # cachalot must not answer for tables that were dropped and rebuilt meanwhile.
    request.addfinalizer(cachalot_api.invalidate)
    call_command("migrate", "nexus_shop", "zero", verbosity=0)
    assert _nexus_shop_tables() == set()
    executor = MigrationExecutor(connection)
    assert not any(app == "nexus_shop" for app, _ in executor.loader.applied_migrations)

    call_command("migrate", "nexus_shop", verbosity=0)
    assert _nexus_shop_tables() == before
    executor = MigrationExecutor(connection)
    leaves = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "nexus_shop"]
    assert executor.migration_plan(leaves) == []  # nothing left to apply

    # And the rebuilt schema works: constraints and defaults included.
    category = services.category_create(name="Lighting")
    product = services.product_create(
        name="Desk lamp", sku="LAMP-1", price=Decimal("19.99"), stock=3, category_id=category.pk
    )
    assert Product.objects.get(pk=product.pk).category == category


@pytest.mark.django_db
def test_product_slugs_are_indexed_once_by_the_live_unique_constraint() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Product._meta.db_table)
    on_slug = {name: c for name, c in constraints.items() if c["columns"] == ["slug"]}
    # Migration 0008 dropped SlugField's own indexes, and only those.
    assert set(on_slug) == {"nexus_shop_product_live_slug_uniq"}
    assert on_slug["nexus_shop_product_live_slug_uniq"]["unique"]
