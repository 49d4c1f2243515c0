"""The catalogue's visibility rules (``nexus_shop.selectors.visibility``), and their copies.

Who is catalogue staff is decided once, by :func:`is_catalogue_staff`, and who is category
staff by :func:`is_category_staff`; what the public sees is :data:`PUBLIC_PRODUCTS` and
:data:`PUBLIC_CATEGORIES`, what it may buy :func:`purchasable_variants`. The copies that
cannot import the ``Q`` (a hand-written SQL statement, a loaded row, a partial index) are
checked against it here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import UniqueConstraint
from django.utils import timezone

from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.selectors.visibility import (
    CATALOGUE_STAFF_PERMS,
    CATEGORY_STAFF_PERMS,
    PUBLIC_CATEGORIES,
    PUBLIC_PRODUCTS,
    PUBLIC_VARIANTS,
    is_catalogue_staff,
    is_category_staff,
    is_public_product,
    is_purchasable_variant,
    public_categories_sql,
    public_products_sql,
    public_variants_sql,
    purchasable_variants,
    visible_categories,
    visible_products,
)
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _four_products() -> dict[str, Product]:
    """One product of each (deleted, active) combination."""
    now = timezone.now()
    return {
        "public": ProductFactory(),
        "inactive": ProductFactory(is_active=False),
        "deleted": ProductFactory(deleted_at=now),
        "deleted inactive": ProductFactory(deleted_at=now, is_active=False),
    }


def _names(found: Any, made: dict[str, Any]) -> set[str]:
    ids = set(found)
    return {name for name, row in made.items() if row.pk in ids}


# Who is catalogue staff -------------------------------------------------------------------


@pytest.mark.parametrize("perm", ["add_product", "change_product", "delete_product"])
def test_each_product_write_permission_alone_makes_catalogue_staff(perm: str) -> None:
    assert is_catalogue_staff(UserFactory(perms=[perm]))


@pytest.mark.parametrize(
    "perms",
    [
        [],
        ["view_product"],
        ["add_category", "change_category", "delete_category", "view_category"],
    ],
)
def test_other_permissions_do_not(perms: list[str]) -> None:
    assert not is_catalogue_staff(UserFactory(perms=perms))
    assert not is_catalogue_staff(StaffFactory(perms=perms))  # is_staff alone: nothing


def test_anonymous_is_not_staff_and_a_superuser_is() -> None:
    assert not is_catalogue_staff(None)
    assert not is_catalogue_staff(AnonymousUser())
    assert is_catalogue_staff(UserFactory(is_superuser=True))


def test_the_staff_permissions_are_the_product_write_permissions() -> None:
    assert set(CATALOGUE_STAFF_PERMS) == {
        f"nexus_shop.{action}_product" for action in ("add", "change", "delete")
    }


@pytest.mark.parametrize(
    "perm", ["add_product", "change_product", "delete_product", "view_product"]
)
def test_staff_see_exactly_what_the_rule_says(perm: str) -> None:
    made = _four_products()
    user = UserFactory(perms=[perm])
    seen = _names(visible_products(viewer=user).values_list("pk", flat=True), made)
    with_deleted = _names(
        visible_products(viewer=user, include_deleted=True).values_list("pk", flat=True), made
    )
    if is_catalogue_staff(user):
        assert seen == {"public", "inactive"}
        assert with_deleted == set(made)
    else:
        assert seen == with_deleted == {"public"}


# What the public sees ---------------------------------------------------------------------


def test_the_public_sees_live_active_products_and_include_deleted_changes_nothing() -> None:
    made = _four_products()
    for viewer in (None, AnonymousUser(), UserFactory()):
        for include_deleted in (False, True):
            found = visible_products(viewer=viewer, include_deleted=include_deleted)
            assert _names(found.values_list("pk", flat=True), made) == {"public"}


def test_a_loaded_product_is_judged_as_the_query_judges_it() -> None:
    made = _four_products()
    public = set(Product.all_objects.filter(PUBLIC_PRODUCTS).values_list("pk", flat=True))
    for product in made.values():
        assert is_public_product(product) == (product.pk in public)


def test_the_sql_fragment_selects_what_the_queryset_selects() -> None:
    made = _four_products()
    table = connection.ops.quote_name(Product._meta.db_table)
    sql, params = public_products_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {sql}", params)  # noqa: S608  (our table; the ORM's condition)
        by_sql = {row[0] for row in cursor.fetchall()}
    by_orm = set(visible_products(viewer=None).values_list("pk", flat=True))
    assert by_sql == by_orm
    assert _names(by_sql, made) == {"public"}


def test_the_public_count_index_covers_exactly_the_public_products() -> None:
    # PostgreSQL answers the public counts from this partial index only if its condition
    # is the rule the selectors filter with.
    (index,) = [i for i in Product._meta.indexes if i.name == "nexus_shop_prod_public_idx"]
    assert index.condition == PUBLIC_PRODUCTS


# What the public may buy -------------------------------------------------------------------


def _variants_of_every_kind() -> dict[str, ProductVariant]:
    """A variant of each (variant state) x (product state): live, inactive, deleted."""
    now = timezone.now()
    made: dict[str, ProductVariant] = {}
    for product_state, product_fields in (
        ("public", {}),
        ("inactive", {"is_active": False}),
        ("deleted", {"deleted_at": now}),
    ):
        product = ProductFactory(**product_fields)
        base = ProductVariant.all_objects.get(product=product)
        made[f"{product_state} product, live variant"] = base
        for state, fields in (("inactive", {"is_active": False}), ("deleted", {"deleted_at": now})):
            made[f"{product_state} product, {state} variant"] = ProductVariant.objects.create(
                product=product,
                sku=f"{base.sku}-{state}",
                combination=state,  # unique among the product's live variants
                price=base.price,
                stock=1,
                **fields,
            )
    return made


def _kinds(pks: Any, made: dict[str, ProductVariant]) -> set[str]:
    return {kind for kind, variant in made.items() if variant.pk in set(pks)}


def test_only_a_live_active_variant_of_a_public_product_can_be_bought() -> None:
    made = _variants_of_every_kind()
    buyable = set(purchasable_variants().values_list("pk", flat=True))
    assert _kinds(buyable, made) == {"public product, live variant"}
    loaded = ProductVariant.all_objects.select_related("product")
    assert {v.pk for v in loaded if is_purchasable_variant(v)} == buyable


def test_the_variant_sql_fragment_selects_what_the_rule_selects() -> None:
    made = _variants_of_every_kind()
    table = connection.ops.quote_name(ProductVariant._meta.db_table)
    sql, params = public_variants_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {sql}", params)  # noqa: S608  (our table; the ORM's condition)
        by_sql = {row[0] for row in cursor.fetchall()}
    assert by_sql == set(
        ProductVariant.all_objects.filter(PUBLIC_VARIANTS).values_list("pk", flat=True)
    )
    # The variant's own part: its product's state is the product UPDATE's to check.
    assert _kinds(by_sql, made) == {
        "public product, live variant",
        "inactive product, live variant",
    }


# Categories -------------------------------------------------------------------------------


def _two_categories() -> dict[str, Category]:
    return {"live": CategoryFactory(), "deleted": CategoryFactory(deleted_at=timezone.now())}


@pytest.mark.parametrize("perm", ["add_category", "change_category", "delete_category"])
def test_each_category_write_permission_alone_makes_category_staff(perm: str) -> None:
    assert is_category_staff(UserFactory(perms=[perm]))


@pytest.mark.parametrize(
    "perms",
    [
        [],
        ["view_category"],
        ["add_product", "change_product", "delete_product", "view_product"],
    ],
)
def test_other_permissions_do_not_make_category_staff(perms: list[str]) -> None:
    assert not is_category_staff(UserFactory(perms=perms))
    assert not is_category_staff(StaffFactory(perms=perms))  # is_staff alone: nothing


def test_anonymous_is_not_category_staff_and_a_superuser_is() -> None:
    assert not is_category_staff(None)
    assert not is_category_staff(AnonymousUser())
    assert is_category_staff(UserFactory(is_superuser=True))


def test_the_category_staff_permissions_are_the_category_write_permissions() -> None:
    assert set(CATEGORY_STAFF_PERMS) == {
        f"nexus_shop.{action}_category" for action in ("add", "change", "delete")
    }


def test_live_categories_are_visible_and_deleted_ones_to_category_staff_on_request() -> None:
    made = _two_categories()
    staff = UserFactory(perms=["delete_category"])
    product_staff = UserFactory(perms=["delete_product"])
    for viewer in (None, AnonymousUser(), UserFactory(), product_staff, staff):
        found = visible_categories(viewer=viewer)
        assert _names(found.values_list("pk", flat=True), made) == {"live"}
    for viewer in (None, AnonymousUser(), UserFactory(), product_staff):
        found = visible_categories(viewer=viewer, include_deleted=True)
        assert _names(found.values_list("pk", flat=True), made) == {"live"}
    found = visible_categories(viewer=staff, include_deleted=True)
    assert _names(found.values_list("pk", flat=True), made) == {"live", "deleted"}


def test_the_category_sql_fragment_selects_what_the_queryset_selects() -> None:
    made = _two_categories()
    table = connection.ops.quote_name(Category._meta.db_table)
    sql, params = public_categories_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {sql}", params)  # noqa: S608  (our table; the ORM's condition)
        by_sql = {row[0] for row in cursor.fetchall()}
    assert by_sql == set(visible_categories().values_list("pk", flat=True))
    assert _names(by_sql, made) == {"live"}


def test_the_live_slug_constraint_covers_exactly_the_public_categories() -> None:
    # A slug is looked up among the categories the public sees, so the constraint that
    # makes it unique (and indexes it) must hold over exactly those rows.
    (constraint,) = [
        c for c in Category._meta.constraints if c.name == "nexus_shop_category_live_slug_uniq"
    ]
    assert isinstance(constraint, UniqueConstraint)
    assert constraint.condition == PUBLIC_CATEGORIES
