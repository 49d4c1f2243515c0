"""Pagination depth: does page 50,000 of a million-row catalogue cost what page 1 costs?

Times nexus_shop's product list selector (the code behind ``GET /products``) directly,
against PostgreSQL, in page mode (``COUNT`` + ``OFFSET``) and in cursor mode (keyset seek),
at page 1 and at a deep page. The deep cursor is the one the API itself would hand out:
``encode_cursor`` for the last row of the page before.

    python benchmarks/pagination_depth.py                       # 1,000,000 products
    python benchmarks/pagination_depth.py --products 100000 --deep-page 5000
    python benchmarks/run.py --depth ...                        # the same, via nox -s bench

The database (``nexus_bench_depth``) is kept between runs and re-seeded only when its size
differs from ``--products``. Seeding uses one ``INSERT ... SELECT generate_series`` (a
million rows in seconds); ``--seeder command`` uses ``nexus_shop_seed`` instead (realistic
data, slower).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_bench_depth"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = ""  # measure the database, not a cache
    os.environ["BENCH_ONLY"] = "nexus"
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchproject.settings"
    sys.path.insert(0, str(HERE))
    try:
        import nexus_shop  # noqa: F401  (only asking whether it is installed)
    except ImportError:
        sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def ensure_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.startswith("nexus_bench"):
        sys.exit(f"refusing to use {name!r}: benchmark databases are named nexus_bench*")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(products: int, *, seeder: str) -> None:
    """Fill the catalogue with ``products`` products, unless it holds that many already.

    ``seeder="sql"``: live, active products one second apart, in 40 categories, with one
    ``INSERT ... SELECT``, and each product's default variant with another.
    ``seeder="command"``: ``nexus_shop_seed`` (realistic data, with some inactive and
    soft-deleted products, and multi-variant ones; slower).
    """
    from django.core.management import call_command

    from nexus_shop.models import Product

    call_command("migrate", "--noinput", verbosity=0)
    if Product.all_objects.count() == products:
        print(f"reusing the {products:,} products already in the database", flush=True)
        return
    print(f"seeding {products:,} products ({seeder})", flush=True)
    started = time.perf_counter()
    if seeder == "command":
        call_command(
            "nexus_shop_seed", products=products, categories=40, seed=1, clear=True, verbosity=0
        )
        _vacuum()
    else:
        _seed_sql(products)
    print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE nexus_shop_product")
        cursor.execute("VACUUM ANALYZE nexus_shop_category")
        cursor.execute("VACUUM ANALYZE nexus_shop_productvariant")


def _seed_sql(products: int) -> None:
    from django.db import connection

    from nexus_shop.models import Category

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE nexus_shop_product, nexus_shop_category RESTART IDENTITY CASCADE")
        cursor.execute(
            """
            INSERT INTO nexus_shop_category (name, slug, description, parent_id, path,
                                             created_at, updated_at)
            SELECT 'Category ' || i, 'category-' || i, '', NULL, '/' || i || '/', now(), now()
            FROM generate_series(1, 40) AS i
            """
        )
        cursor.execute(
            """
            INSERT INTO nexus_shop_product (name, slug, sku, description, price, price_max,
                                            currency, stock, active_variant_count, options,
                                            option_words, thumbnail_file, is_active,
                                            category_id, created_at, updated_at, deleted_at)
            SELECT 'Product ' || i, 'product-' || i, 'SKU-' || lpad(i::text, 8, '0'),
                   'Benchmark product number ' || i || '.',
                   ((i::bigint * 7919) %% 100000) / 100.0, ((i::bigint * 7919) %% 100000) / 100.0,
                   'USD', i %% 50, 1, '[]', '', '', true, (i %% 40) + 1,
                   now() - make_interval(secs => i), now() - make_interval(secs => i), NULL
            FROM generate_series(1, %s) AS i
            """,
            [products],
        )
        # Every product its default variant: the product's sku, price and stock.
        cursor.execute(
            """
            INSERT INTO nexus_shop_productvariant (product_id, sku, options, combination, price,
                                                   compare_at_price, stock, is_active, position,
                                                   created_at, updated_at, deleted_at)
            SELECT id, sku, '{}', '', price, NULL, stock, true, 0, created_at, updated_at, NULL
            FROM nexus_shop_product
            """
        )
    _vacuum()
    assert Category.objects.count() == 40


def timed(call: Callable[[], Any], *, repeat: int) -> dict[str, float]:
    call()  # warm the plan and the buffers
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 3),
        "min_ms": round(min(samples), 3),
        "max_ms": round(max(samples), 3),
    }


def plan(call: Callable[[], Any]) -> list[str]:
    """PostgreSQL's EXPLAIN ANALYZE of the page query (the last query) of ``call``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    sql = queries.captured_queries[-1]["sql"]  # PostgreSQL: the exact SQL, parameters bound
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")
        return [row[0] for row in cursor.fetchall()]


def measure(*, deep_page: int, page_size: int, repeat: int, ordering: str) -> list[dict[str, Any]]:
    from nexus_shop.schemas.catalog import ProductFilter
    from nexus_shop.selectors.pagination import encode_cursor
    from nexus_shop.selectors.products import PRODUCT_SORTS, product_list

    def cursor_after(position: int) -> str:
        """The cursor the API hands out after ``position`` rows (the end of page position/size)."""
        page = product_list(
            filters=ProductFilter(
                page=position // page_size, page_size=page_size, ordering=ordering
            ),
            viewer=None,
        )
        assert page.next_cursor is not None
        last = page.items[-1]
        sort = PRODUCT_SORTS[ordering]
        # The same cursor, built by hand as the selector builds it: one proves the other.
        assert page.next_cursor == encode_cursor(
            scope="products", sort=sort, value=getattr(last, sort.field), pk=last.pk
        )
        return page.next_cursor

    def run(**params: Any) -> Callable[[], Any]:
        filters = ProductFilter(page_size=page_size, ordering=ordering, **params)

        def call() -> Any:
            page = product_list(filters=filters, viewer=None)
            assert len(page.items) == page_size, len(page.items)
            return page

        return call

    deep_cursor = cursor_after((deep_page - 1) * page_size)
    second_cursor = cursor_after(page_size)
    cases = [
        ("page mode", 1, run(page=1)),
        ("page mode", deep_page, run(page=deep_page)),
        ("cursor mode", 2, run(cursor=second_cursor)),
        ("cursor mode", deep_page, run(cursor=deep_cursor)),
    ]
    # Both modes must return the same rows at the same depth.
    offset_ids = [p.pk for p in run(page=deep_page)().items]
    cursor_ids = [p.pk for p in run(cursor=deep_cursor)().items]
    assert offset_ids == cursor_ids, "page and cursor mode disagree at the deep page"

    rows = []
    for mode, page, call in cases:
        figures = timed(call, repeat=repeat)
        rows.append(
            {"ordering": ordering, "mode": mode, "page": page, **figures, "plan": plan(call)}
        )
        print(
            f"  ordering={ordering:12} {mode:11} page {page:>7,}: "
            f"median {figures['median_ms']:9.2f} ms"
            f"  (min {figures['min_ms']:.2f}, max {figures['max_ms']:.2f})",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DEPTH_DATABASE_URL", DEFAULT_DATABASE_URL),
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--deep-page", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--orderings", default="-created_at,price")
    parser.add_argument(
        "--seeder",
        choices=["sql", "command"],
        default="sql",
        help="sql: one INSERT ... SELECT (seconds); command: nexus_shop_seed (realistic, slower)",
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "pagination_depth.json")
    args = parser.parse_args(argv)
    if args.deep_page * args.page_size > args.products:
        parser.error("--deep-page * --page-size is beyond the catalogue")

    ensure_database(args.database_url)
    setup_django(args.database_url)
    seed(args.products, seeder=args.seeder)

    from django.db import connection

    started = datetime.now(UTC).replace(microsecond=0)
    rows: list[dict[str, Any]] = []
    for ordering in args.orderings.split(","):
        rows += measure(
            deep_page=args.deep_page,
            page_size=args.page_size,
            repeat=args.repeat,
            ordering=ordering,
        )
    report = {
        "started_at": started.isoformat(),
        "command": " ".join(["python", "benchmarks/pagination_depth.py", *(argv or sys.argv[1:])]),
        "products": args.products,
        "seeder": args.seeder,
        "page_size": args.page_size,
        "repeat": args.repeat,
        "postgresql": connection.cursor().connection.info.server_version,
        "results": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"{args.products:,} products, page_size {args.page_size}, median of {args.repeat} runs "
        f"({started.isoformat()}).",
        "",
        "| ordering | mode | page | median ms | min ms | max ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{r['ordering']}` | {r['mode']} | {r['page']:,} | {r['median_ms']:.2f} | "
        f"{r['min_ms']:.2f} | {r['max_ms']:.2f} |"
        for r in rows
    ]
    args.output.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
