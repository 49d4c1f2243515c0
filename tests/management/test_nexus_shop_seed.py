"""``manage.py nexus_shop_seed`` on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import io
import re
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.services import catalog as services
from tests.support.outbox import Outbox

pytestmark = pytest.mark.django_db(transaction=False)


def seed(*args: str, **kwargs: Any) -> tuple[str, str]:
    out, err = kwargs.pop("stdout", io.StringIO()), kwargs.pop("stderr", io.StringIO())
    call_command("nexus_shop_seed", *args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def catalogue() -> list[tuple[Any, ...]]:
    return sorted(
        Product.all_objects.values_list(
            "name", "slug", "sku", "description", "price", "stock", "is_active", "category__slug"
        )
    )


def tree() -> list[tuple[str, str, str | None]]:
    return sorted(Category.objects.values_list("name", "slug", "parent__slug"))


class TTYStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_counts_match() -> None:
    out, _ = seed("--products", "500", "--categories", "40")

    assert Product.all_objects.count() == 500
    assert Category.objects.count() == 40
    assert "Seeded 40 categories and 500 products" in out


def variants() -> list[tuple[Any, ...]]:
    return sorted(
        ProductVariant.objects.values_list(
            "product__sku", "sku", "combination", "price", "compare_at_price", "stock", "is_active"
        )
    )


def test_same_seed_same_catalogue_other_seed_differs() -> None:
    seed("--products", "300", "--categories", "25", "--seed", "7")
    first_products, first_tree, first_variants = catalogue(), tree(), variants()

    seed("--products", "300", "--categories", "25", "--seed", "7", "--clear")
    assert catalogue() == first_products
    assert tree() == first_tree
    assert variants() == first_variants

    seed("--products", "300", "--categories", "25", "--seed", "8", "--clear")
    assert catalogue() != first_products
    assert Product.all_objects.count() == 300


def test_category_paths_follow_the_parent_chain() -> None:
    seed("--products", "50", "--categories", "60")
    categories = {c.pk: c for c in Category.objects.all()}

    depths: Counter[int] = Counter()
    for category in categories.values():
        chain = [category.pk]
        parent_id = category.parent_id
        while parent_id is not None:
            chain.append(parent_id)
            parent_id = categories[parent_id].parent_id
        expected = "/" + "".join(f"{pk}/" for pk in reversed(chain))
        assert category.path == expected
        depths[len(chain)] += 1
    # A few roots and two or three levels.
    assert 1 < depths[1] <= 10
    assert set(depths) == {1, 2, 3}


def test_paths_match_what_the_services_build() -> None:
    """A category created by the service under a seeded one gets the same kind of path."""
    seed("--products", "0", "--categories", "10")
    parent = Category.objects.exclude(parent=None).first()
    assert parent is not None

    child = services.category_create(name="Under a seeded one", parent_id=parent.pk)

    assert child.path == f"{parent.path}{child.pk}/"
    assert Category.objects.filter(path__startswith=parent.path).count() >= 2


def test_products_are_visible_through_the_public_api(anon: Client) -> None:
    seed("--products", "400", "--categories", "30")
    public = Product.objects.filter(is_active=True)

    body = anon.get("/api/products").json()
    assert body["count"] == public.count()

    categories = anon.get("/api/categories", {"page_size": 100}).json()["items"]
    roots = [c for c in categories if c["parent_id"] is None]
    # Every product has a category; the roots' subtree counts cover each public product once.
    assert sum(c["product_count"] for c in roots) == public.count()
    for item in categories:
        direct_and_below = public.filter(
            category__path__startswith=Category.objects.get(pk=item["id"]).path
        ).count()
        assert item["product_count"] == direct_and_below


def test_realistic_spread() -> None:
    seed("--products", "2000", "--categories", "30")
    products = Product.all_objects.all()

    inactive = products.filter(is_active=False).count()
    out_of_stock = products.filter(stock=0).count()
    assert 100 < inactive < 300
    assert 100 < out_of_stock < 300
    # Leaf and inner categories both hold products.
    assert products.filter(category__children__isnull=False).exists()
    assert products.filter(category__children__isnull=True).exists()
    assert not products.filter(category__isnull=True).exists()
    # created_at spread over the past year, not all "now".
    dates = list(products.values_list("created_at", flat=True))
    assert (max(dates) - min(dates)).days > 300
    assert len(set(dates)) > 1900
    for product in products[:200]:
        assert product.price == product.price.quantize(Decimal("0.01"))
        assert product.price.as_tuple().exponent == -2
        assert product.currency == "USD"
        assert product.name in product.description


def test_slugs_and_skus_are_unique() -> None:
    seed("--products", "1500", "--categories", "120")

    slugs = list(Product.all_objects.values_list("slug", flat=True))
    skus = list(Product.all_objects.values_list("sku", flat=True))
    category_slugs = list(Category.objects.values_list("slug", flat=True))
    assert len(set(slugs)) == len(slugs) == 1500
    assert len(set(skus)) == len(skus) == 1500
    assert len(set(category_slugs)) == len(category_slugs) == 120


def test_names_read_like_a_shop(anon: Client) -> None:
    seed("--products", "1000", "--categories", "30", "--seed", "3")

    headphones = Product.objects.filter(name__icontains="headphones").first()
    assert headphones is not None
    assert headphones.category is not None
    root = Category.objects.get(pk=int(headphones.category.path.split("/")[1]))
    assert root.name == "Electronics"

    found = anon.get("/api/products", {"q": "headphones", "page_size": "100"}).json()
    assert found["count"] >= 1
    assert all("headphones" in (i["name"] + i["description"]).lower() for i in found["items"])


@override_settings(NEXUS_SHOP_CURRENCY="EUR")
def test_currency_comes_from_settings() -> None:
    seed("--products", "20", "--categories", "3")

    assert set(Product.all_objects.values_list("currency", flat=True)) == {"EUR"}


def test_progress_lines_when_not_a_terminal() -> None:
    _, err = seed("--products", "1000", "--categories", "10", "--batch-size", "100")

    lines = [line for line in err.splitlines() if line.startswith("products:")]
    assert len(lines) == 10
    assert lines[-1].startswith("products: 1,000/1,000 (100%)")
    assert "\r" not in err


def test_progress_bar_on_a_terminal() -> None:
    err = TTYStringIO()
    seed("--products", "300", "--categories", "5", "--batch-size", "50", stderr=err)

    text = err.getvalue()
    assert "\rproducts [" in text
    assert "300/300" in text
    assert "\x1b[" not in text  # plain, not coloured like an error


def test_says_it_emits_no_events_and_emits_none(outbox: Outbox) -> None:
    services.category_create(name="Before")  # an event of its own, before the seed
    outbox.new()

    out, _ = seed("--products", "50", "--categories", "5", "--clear")

    assert (
        "No webhook events were emitted: the seed writes (and with --clear deletes) "
        "catalogue rows directly, and adds its pictures with events suppressed." in out.splitlines()
    )
    assert outbox.new() == []


def test_quiet_with_verbosity_0() -> None:
    out, err = seed("--products", "100", "--categories", "5", verbosity=0)

    assert out == ""
    assert err == ""
    assert Product.all_objects.count() == 100


def test_refuses_a_non_empty_catalogue_without_clear() -> None:
    seed("--products", "10", "--categories", "3")
    product = Product.objects.first()
    assert product is not None
    services.product_soft_delete(product_id=product.pk)  # deleted rows count too

    with pytest.raises(CommandError, match="--clear"):
        seed("--products", "10", "--categories", "3")
    assert Product.all_objects.count() == 10


def test_clear_hard_deletes_everything_first() -> None:
    seed("--products", "30", "--categories", "12")
    deleted = Product.objects.first()
    assert deleted is not None
    services.product_soft_delete(product_id=deleted.pk)

    out, _ = seed("--products", "5", "--categories", "4", "--clear")

    assert "Deleted 30 products and 12 categories." in out
    assert Product.all_objects.count() == 5
    assert Category.objects.count() == 4
    assert not Product.all_objects.filter(pk=deleted.pk).exists()


def test_zero_categories_leaves_products_uncategorised() -> None:
    seed("--products", "10", "--categories", "0")

    assert Product.all_objects.filter(category__isnull=True).count() == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--products", "-1"), "--products"),
        (("--categories", "-5"), "--categories"),
        (("--batch-size", "0"), "--batch-size"),
        (("--multi-variant-share", "1.5"), "--multi-variant-share"),
        (("--multi-variant-share", "-0.1"), "--multi-variant-share"),
        (("--images", "-1"), "--images"),
    ],
)
def test_bad_arguments(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        seed(*args)
    assert not Product.all_objects.exists()


def test_help_documents_the_command() -> None:
    from nexus_shop.management.commands.nexus_shop_seed import Command

    parser = Command().create_parser("manage.py", "nexus_shop_seed")
    text = parser.format_help()
    for option in (
        "--products",
        "--categories",
        "--seed",
        "--clear",
        "--batch-size",
        "--multi-variant-share",
        "--images",
    ):
        assert option in text
    assert "same catalogue" in text


DDL = re.compile(r"^\s*(DROP|ALTER|CREATE|TRUNCATE|REINDEX|CLUSTER)\b", re.IGNORECASE)


def test_seeding_issues_no_ddl_and_no_truncate() -> None:
    """Rows only: nothing the command runs drops, alters, creates or truncates a table."""
    from django.db import connection

    seed("--products", "40", "--categories", "6")  # so --clear has rows to delete
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        seed("--products", "300", "--categories", "10", "--clear")

    assert any("nexus_shop_product" in sql for sql in statements)  # the wrapper saw the work
    assert [sql for sql in statements if DDL.match(sql)] == []
    assert Product.all_objects.count() == 300


def _product_table_objects() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The product table's indexes and constraints, with their OIDs.

    A dropped and re-created index or constraint comes back with a new OID, so equal lists
    before and after a load mean they were left alone, whatever ran the SQL.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::int, indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = 'nexus_shop_product'::regclass ORDER BY 1"
        )
        indexes = [(oid, name) for oid, name in cursor.fetchall()]
        cursor.execute(
            "SELECT oid::int, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'nexus_shop_product'::regclass ORDER BY 1"
        )
        constraints = [(oid, definition) for oid, definition in cursor.fetchall()]
    return indexes, constraints


@pytest.mark.postgres
def test_postgres_load_leaves_indexes_and_foreign_keys_alone() -> None:
    before = _product_table_objects()
    assert len(before[0]) > 5  # the primary key and the list, search and count indexes
    assert any(d.startswith("FOREIGN KEY (category_id)") for _, d in before[1])

    seed("--products", "300", "--categories", "10")
    seed("--products", "200", "--categories", "5", "--clear")

    assert _product_table_objects() == before
    assert Product.all_objects.count() == 200


@pytest.mark.postgres
def test_postgres_clear_honours_a_host_tables_foreign_key() -> None:
    """--clear DELETEs: another table's foreign key is respected, never truncated through."""
    from django.db import connection

    seed("--products", "20", "--categories", "5")
    with connection.cursor() as cursor:
        # A host app's table pointing at products (as a wishlist might).
        cursor.execute(
            "CREATE TABLE seed_test_wishlist ("
            "id serial PRIMARY KEY, product_id bigint REFERENCES nexus_shop_product (id))"
        )

    out, _ = seed("--products", "10", "--categories", "4", "--clear")

    assert "Deleted 20 products and 5 categories." in out
    assert Product.all_objects.count() == 10
    assert Category.objects.count() == 4


@pytest.mark.postgres
def test_postgres_clear_refuses_when_a_host_row_still_points_at_a_product() -> None:
    from django.db import IntegrityError, connection

    seed("--products", "20", "--categories", "5")
    kept = Product.all_objects.order_by("pk").first()
    assert kept is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE seed_test_wishlist ("
            "id serial PRIMARY KEY, product_id bigint REFERENCES nexus_shop_product (id))"
        )
        cursor.execute("INSERT INTO seed_test_wishlist (product_id) VALUES (%s)", [kept.pk])

    with pytest.raises(IntegrityError):
        seed("--products", "10", "--categories", "4", "--clear")
    assert Product.all_objects.count() == 20  # all or nothing


def test_created_at_is_written_not_switched_off() -> None:
    """The load sets created_at itself; the model field's auto_now_add stays as it is."""
    field = Product._meta.get_field("created_at")
    seed("--products", "200", "--categories", "5")

    assert field.auto_now_add is True
    dates = set(Product.all_objects.values_list("created_at", flat=True))
    assert len(dates) > 150


def test_slugs_follow_the_services_rules() -> None:
    from nexus_shop.services.catalog import _free_slug, _slug_base

    seed("--products", "300", "--categories", "80")

    for product in Product.all_objects.all():
        number = int(product.sku.rsplit("-", 1)[1])
        assert product.slug == _slug_base(f"{product.name} {number}", fallback="", max_length=240)
    taken: set[str] = set()
    for category in Category.objects.order_by("pk"):
        base = _slug_base(category.name, fallback="category", max_length=200)
        assert category.slug == _free_slug(base, taken, max_length=200)
        taken.add(category.slug)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_vacuums_after_commit() -> None:
    """Outside a transaction the seed VACUUMs, so counts can use index-only scans at once."""
    from django.db import connection

    def last_vacuum() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'nexus_shop_product'"
            )
            return cursor.fetchone()[0]

    before = last_vacuum()

    seed("--products", "50", "--categories", "5")

    after = last_vacuum()
    assert after is not None
    assert before is None or after > before
