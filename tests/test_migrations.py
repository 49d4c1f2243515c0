"""Migrations: the models and the migrations agree, and the app migrates down and up again.

Runs on both backends (the suite's SQLite and PostgreSQL sessions), against the test
database: ``migrate nexus_shop zero`` drops every nexus_shop table, ``migrate`` builds
them again, and the app works afterwards.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from cachalot import api as cachalot_api
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from nexus_shop.models import Cart, CartLine, Category, Product, ProductVariant
from nexus_shop.services import catalog as services
from nexus_shop.services.summary import summary_drift

# Commands that walk every database alias (makemigrations' history check, cachalot's
# invalidation after migrate) reach tests/settings.py's "replica" alias too: a mirror of
# default, which the router tests name (it is not in READ_REPLICAS, so it may be migrated).
EVERY_ALIAS = "__all__"


# makemigrations checks the history it finds in the database
@pytest.mark.django_db(databases=EVERY_ALIAS)
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
@pytest.mark.django_db(transaction=True, databases=EVERY_ALIAS)
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


# Migration 0010: every product's default variant -----------------------------------------------

BEFORE_VARIANTS = ("nexus_shop", "0008_product_slug_index")


def _migrate(target: list[tuple[str, str]]) -> Any:
    """Migrate nexus_shop to ``target``; the historical models (``apps``) of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    executor.loader.build_graph()
    return executor.loader.project_state(target).apps


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "nexus_shop"]


def _populate_before_variants(apps: Any) -> dict[str, Any]:
    """Products (live and soft-deleted), a cart and an order, as they were at 0008."""
    product_model = apps.get_model("nexus_shop", "Product")
    user = apps.get_model(*settings.AUTH_USER_MODEL.split(".")).objects.create(username="buyer")
    now = timezone.now()
    deleted_at = now - timedelta(days=1)
    products = [
        product_model.objects.create(
            name=f"P{n}",
            slug=f"p{n}",
            sku=f"SKU-{n}",
            price=Decimal(f"{n}.50"),
            currency="USD",
            stock=n,
            deleted_at=deleted_at if n % 3 == 0 else None,
        )
        for n in range(1, 8)
    ]
    cart = apps.get_model("nexus_shop", "Cart").objects.create(user=user)
    cart_line_model = apps.get_model("nexus_shop", "CartLine")
    for product in products[:3]:
        cart_line_model.objects.create(cart=cart, product=product, quantity=1)
    order = apps.get_model("nexus_shop", "Order").objects.create(
        number="N-1",
        user=user,
        status="paid",
        subtotal=Decimal(10),
        shipping=Decimal(0),
        tax=Decimal(0),
        total=Decimal(10),
        currency="USD",
    )
    order_line_model = apps.get_model("nexus_shop", "OrderLine")
    for product in products[2:5]:  # the soft-deleted SKU-3 too
        order_line_model.objects.create(
            order=order,
            product=product,
            name=product.name,
            sku=product.sku,
            unit_price=product.price,
            quantity=2,
            line_total=product.price * 2,
        )
    return {"deleted_at": deleted_at, "skus": {p.pk: (p.sku, p.price, p.stock) for p in products}}


def _check_default_variants(apps: Any, populated: dict[str, Any]) -> None:
    product_model = apps.get_model("nexus_shop", "Product")
    variant_model = apps.get_model("nexus_shop", "ProductVariant")
    for product in product_model.objects.all():
        (variant,) = variant_model.objects.filter(product=product)
        assert (variant.sku, variant.price, variant.stock) == populated["skus"][product.pk]
        assert (variant.options, variant.combination, variant.is_active) == ({}, "", True)
        # A deleted product's variant went with it, at the same instant (restore finds it).
        assert variant.deleted_at == product.deleted_at
        assert product.price_max == product.price
        assert product.active_variant_count == 1
    assert product_model.objects.filter(deleted_at=populated["deleted_at"]).count() == 2
    for model in ("CartLine", "OrderLine"):
        lines = apps.get_model("nexus_shop", model).objects.all()
        assert lines.count() == 3
        for line in lines:
            assert line.variant.product_id == line.product_id


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, databases=EVERY_ALIAS)
def test_migration_0010_forward_back_and_forward_on_a_populated_database(
    request: pytest.FixtureRequest,
) -> None:
    request.addfinalizer(cachalot_api.invalidate)
    latest = _latest()
    # Whatever happens, leave the database at the latest state for the tests after this one.
    request.addfinalizer(lambda: call_command("migrate", "nexus_shop", verbosity=0))
    populated = _populate_before_variants(_migrate([BEFORE_VARIANTS]))

    apps = _migrate(latest)
    _check_default_variants(apps, populated)

    apps = _migrate([BEFORE_VARIANTS])  # and back: the products keep their price and stock
    product_model = apps.get_model("nexus_shop", "Product")
    assert {p.pk: (p.sku, p.price, p.stock) for p in product_model.objects.all()} == populated[
        "skus"
    ]
    assert apps.get_model("nexus_shop", "OrderLine").objects.count() == 3

    apps = _migrate(latest)  # and forward again
    _check_default_variants(apps, populated)
    # The migrated catalogue works with the services: a deleted product restores with its
    # variant, and the summary agrees with the variants.
    deleted = Product.all_objects.filter(deleted_at__isnull=False).order_by("pk").first()
    assert deleted is not None
    services.product_restore(product_id=deleted.pk)
    assert ProductVariant.objects.filter(product=deleted).count() == 1
    assert summary_drift() == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, databases=EVERY_ALIAS)
def test_migrating_back_merges_a_carts_lines_of_one_products_variants(
    request: pytest.FixtureRequest,
) -> None:
    """Before variants a cart held a product once: 0011's reverse brings that constraint back,
    so 0010's reverse first merges the lines (quantities added, up to a line's 1,000)."""
    request.addfinalizer(cachalot_api.invalidate)
    request.addfinalizer(lambda: call_command("migrate", "nexus_shop", verbosity=0))
    user = get_user_model().objects.create(username="two-sizes")
    shirt = services.product_create(
        name="Shirt",
        sku="SHIRT",
        options=[{"name": "Size", "values": ["S", "M", "L"]}],
        variants=[
            {"sku": f"SHIRT-{size}", "options": {"Size": size}, "price": Decimal(5), "stock": 9}
            for size in ("S", "M", "L")
        ],
    )
    cart = Cart.objects.create(user=user)
    variants = ProductVariant.objects.filter(product=shirt)
    for variant, quantity in zip(variants, (2, 999, 3), strict=True):
        CartLine.objects.create(cart=cart, product=shirt, variant=variant, quantity=quantity)

    apps = _migrate([BEFORE_VARIANTS])
    (line,) = apps.get_model("nexus_shop", "CartLine").objects.filter(cart_id=cart.pk)
    assert (line.product_id, line.quantity) == (shirt.pk, 1000)


# Migration 0016: categories are soft-deleted ---------------------------------------------------

BEFORE_CATEGORY_SOFT_DELETE = ("nexus_shop", "0015_events_outbox_webhooks")


@pytest.mark.django_db
def test_category_slugs_are_unique_among_live_categories_only() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Category._meta.db_table)
    unique_on_slug = {
        name for name, c in constraints.items() if c["columns"] == ["slug"] and c["unique"]
    }
    assert unique_on_slug == {"nexus_shop_category_live_slug_uniq"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, databases=EVERY_ALIAS)
def test_migration_0016_forward_back_and_forward_on_a_populated_database(
    request: pytest.FixtureRequest,
) -> None:
    request.addfinalizer(cachalot_api.invalidate)
    latest = _latest()
    request.addfinalizer(lambda: call_command("migrate", "nexus_shop", verbosity=0))
    apps = _migrate([BEFORE_CATEGORY_SOFT_DELETE])
    old = apps.get_model("nexus_shop", "Category")
    root = old.objects.create(name="Root", slug="root")
    old.objects.filter(pk=root.pk).update(path=f"/{root.pk}/")
    child = old.objects.create(name="Child", slug="child", parent=root)
    old.objects.filter(pk=child.pk).update(path=f"/{root.pk}/{child.pk}/")

    _migrate(latest)  # existing categories are live
    assert set(Category.objects.values_list("pk", flat=True)) == {root.pk, child.pk}
    services.category_delete(category_id=child.pk)
    reused = services.category_create(name="Child", slug="child")  # the deleted one's slug
    services.category_delete(category_id=reused.pk)

    # Back: every slug must be unique again, so with two "child" rows the migration fails
    # (and changes nothing); with one, the deleted category comes back as a live one.
    with pytest.raises(IntegrityError):
        _migrate([BEFORE_CATEGORY_SOFT_DELETE])
    Category.all_objects.filter(pk=reused.pk).delete()
    apps = _migrate([BEFORE_CATEGORY_SOFT_DELETE])
    old = apps.get_model("nexus_shop", "Category")
    assert sorted(old.objects.values_list("slug", flat=True)) == ["child", "root"]

    _migrate(latest)  # and forward again
    assert Category.objects.count() == 2
    services.category_delete(category_id=child.pk)
    assert services.category_restore(category_id=child.pk).parent_id == root.pk
