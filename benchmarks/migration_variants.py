"""How long the variants migrations take on 1,000,000 products, forwards and back.

``nox -s bench -- --migration`` runs this file (``--help`` lists its options). Issue 17
asks for the default-variant migration (``0010_default_variants``: every product gets the
variant that carries its sku, price and stock) to be batched, reversible and measured on
1,000,000 products. In one run it

1. re-creates a scratch database (``nexus_bench_migration``) and migrates nexus_shop to
   ``0008``, the schema before variants;
2. fills it the way a shop of that era would be: ``--products`` products (one in 50
   soft-deleted, one in 20 inactive) in 200 categories, written with plain SQL in chunks of
   100,000 (the search triggers run, as for any insert), ``--lines`` cart lines and as many
   order lines, then ``VACUUM ANALYZE``;
3. migrates nexus_shop one migration at a time, forwards from 0009 to the newest, timing
   each ``migrate`` (in one process: Django's start-up is not in the figures);
4. checks the result (one variant per product), then migrates back to 0008, one
   migration at a time, timed, and checks that the variants are gone;
5. prints the table with the load average before and after, and writes
   ``benchmarks/results/migration_variants.json``.

Run it alone: it is all PostgreSQL work (writes and index maintenance), which a busy
neighbour slows down.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # run.py is a sibling script, not a package
    RESULTS,
    django_env,
    pg_url,
    postgres_version,
    recreate_database,
    uptime,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_bench_migration"
BEFORE = "0008"
CHUNK = 100_000

PRODUCTS = """
INSERT INTO nexus_shop_product
    (created_at, updated_at, deleted_at, name, slug, sku, description, price, currency,
     stock, is_active, category_id)
SELECT now() - make_interval(secs => n), now(),
       CASE WHEN n %% 50 = 0 THEN now() END,
       'Product ' || n, 'product-' || n, 'SKU-' || n,
       'A product of the migration benchmark, number ' || n || '.',
       (n %% 10000) / 100.0 + 1, 'EUR', n %% 37, n %% 20 <> 0,
       (SELECT id FROM nexus_shop_category ORDER BY id OFFSET (n %% 200) LIMIT 1)
FROM generate_series(%s::bigint, %s::bigint) AS n
"""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_MIGRATION_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="scratch database, dropped and re-created (name must start with nexus_bench)",
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=20_000, help="cart lines, and order lines")
    parser.add_argument("--output", type=Path, default=RESULTS / "migration_variants.json")
    return parser


def migrate(database_url: str, *target: str) -> float:
    """``manage.py migrate`` on the benchmark project; its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", *target, "--noinput", "-v", "0"],
        env=django_env(database_url, BENCH_ONLY="nexus"),
        check=True,
    )
    return time.perf_counter() - start


# One process runs every step, each timed around ``call_command("migrate", ...)`` alone, so
# Django's start-up and the migration graph's loading are not in the figures.
STEPS = """
import json, sys, time
import django
django.setup()
from django.core.management import call_command
for target in sys.argv[1:]:
    start = time.perf_counter()
    call_command("migrate", "nexus_shop", target, interactive=False, verbosity=0)
    print(json.dumps({"target": target, "seconds": time.perf_counter() - start}), flush=True)
"""


def migrate_steps(database_url: str, targets: list[str]) -> list[float]:
    """Migrate nexus_shop to each of ``targets`` in turn; each step's seconds."""
    result = subprocess.run(
        [sys.executable, "-c", STEPS, *targets],
        env=django_env(database_url, BENCH_ONLY="nexus"),
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(line)["seconds"] for line in result.stdout.splitlines()]


def migrations_after(name: str) -> list[str]:
    """The nexus_shop migrations after ``name``, in order (their file names' prefixes)."""
    import nexus_shop

    folder = Path(nexus_shop.__file__).parent / "migrations"
    found = sorted(p.stem for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py"))
    return [stem for stem in found if stem[:4] > name]


def fill(conn: Any, args: argparse.Namespace) -> float:
    start = time.perf_counter()
    conn.execute(
        "INSERT INTO nexus_shop_category (created_at, updated_at, name, slug, description, "
        "path) SELECT now(), now(), 'Category ' || n, 'category-' || n, '', '' "
        "FROM generate_series(1, 200) AS n"
    )
    conn.execute("UPDATE nexus_shop_category SET path = '/' || id || '/'")
    for low in range(1, args.products + 1, CHUNK):
        high = min(low + CHUNK - 1, args.products)
        conn.execute(PRODUCTS, [low, high])
        print(f"  products {high:,}", flush=True)
    # One customer with carts and orders whose lines name live products (the backfill of
    # line.variant_id is part of 0010).
    conn.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
        "email, is_staff, is_active, date_joined) "
        "VALUES ('!', false, 'migration-bench', '', '', '', false, true, now())"
    )
    _fill_lines(conn, args.lines, args.products)
    conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def _fill_lines(conn: Any, lines: int, products: int) -> None:
    """``lines`` cart lines over open carts of 10, and as many order lines over paid orders
    of 10, each line naming a live product (the 0008 schema's columns)."""
    groups = max(1, lines // 10)
    user = conn.execute("SELECT id FROM auth_user WHERE username = 'migration-bench'").fetchone()
    conn.execute(
        "INSERT INTO nexus_shop_cart (created_at, updated_at, token_hash, user_id) "
        "SELECT now(), now(), md5(n::text) || md5((n + 1)::text), NULL "
        "FROM generate_series(1, %s::int) AS n",
        [groups],
    )
    conn.execute(
        "INSERT INTO nexus_shop_cartline (quantity, created_at, cart_id, product_id) "
        "SELECT 1 + k, now(), c.id, 1 + (c.id * 10 + k) * 41 %% %s "
        "FROM nexus_shop_cart c CROSS JOIN generate_series(0, 9) AS k",
        [products],
    )
    conn.execute(
        "INSERT INTO nexus_shop_order (created_at, updated_at, number, status, subtotal, "
        "shipping, tax, total, currency, email, user_id) "
        "SELECT now(), now(), 'MIG-' || n, 'paid', 10, 0, 0, 10, 'EUR', "
        "'bench@example.com', %s FROM generate_series(1, %s::int) AS n",
        [user[0], groups],
    )
    conn.execute(
        "INSERT INTO nexus_shop_orderline (name, sku, unit_price, quantity, line_total, "
        "order_id, product_id) "
        "SELECT p.name, p.sku, p.price, 1, p.price, o.id, p.id "
        "FROM nexus_shop_order o CROSS JOIN generate_series(0, 9) AS k "
        "JOIN nexus_shop_product p ON p.id = 1 + (o.id * 10 + k) * 43 %% %s",
        [products],
    )


def counts(conn: Any) -> dict[str, int]:
    tables = ("product", "productvariant", "cartline", "orderline")
    found = {}
    for table in tables:
        exists = conn.execute("SELECT to_regclass(%s)", [f"nexus_shop_{table}"]).fetchone()[0]
        if exists:
            found[table] = conn.execute(f"SELECT count(*) FROM nexus_shop_{table}").fetchone()[0]  # noqa: S608  (our table names)
    return found


def main(argv: list[str] | None = None) -> None:
    import psycopg

    args = parser().parse_args(argv)
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f}", flush=True)
    recreate_database(args.database_url)
    migrate(args.database_url)  # auth, contenttypes... and nexus_shop to the newest
    migrate(args.database_url, "nexus_shop", BEFORE)
    with psycopg.connect(pg_url(args.database_url), autocommit=True) as conn:
        filled = fill(conn, args)
        before = counts(conn)
    steps: list[dict[str, Any]] = []
    forwards = migrations_after(BEFORE)
    for name, seconds in zip(
        forwards, migrate_steps(args.database_url, [n[:4] for n in forwards]), strict=True
    ):
        steps.append({"direction": "forwards", "migration": name, "seconds": seconds})
        print(f"  forwards  {name:40s} {seconds:8.1f} s", flush=True)
    with psycopg.connect(pg_url(args.database_url), autocommit=True) as conn:
        after = counts(conn)
        unmatched = conn.execute(
            "SELECT count(*) FROM nexus_shop_product p WHERE NOT EXISTS "
            "(SELECT 1 FROM nexus_shop_productvariant v WHERE v.product_id = p.id)"
        ).fetchone()[0]
    # Backwards: each step undoes one migration (the target is the one before it).
    undone = list(reversed(forwards))
    targets = [name[:4] for name in reversed([BEFORE, *forwards[:-1]])]
    for name, seconds in zip(undone, migrate_steps(args.database_url, targets), strict=True):
        steps.append({"direction": "backwards", "migration": name, "seconds": seconds})
        print(f"  backwards {name:40s} {seconds:8.1f} s", flush=True)
    with psycopg.connect(pg_url(args.database_url), autocommit=True) as conn:
        back = counts(conn)
    load_after = os.getloadavg()
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["nox -s bench -- --migration", *(argv or sys.argv[1:])]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "postgres": postgres_version(args.database_url),
        "uptime_after": uptime(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "fill_seconds": filled,
        "rows_before": before,
        "rows_after": after,
        "products_without_variant_after": unmatched,
        "rows_back": back,
        "steps": steps,
    }
    assert unmatched == 0, f"{unmatched} products have no variant after the migration"
    assert after["productvariant"] == before["product"], (before, after)
    assert "productvariant" not in back, back
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    print(f"wrote {args.output}")


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report['rows_before']['product']:,} products, {report['rows_before']['cartline']:,} "
        f"cart lines, {report['rows_before']['orderline']:,} order lines; PostgreSQL "
        f"{report['postgres']}; load average {report['load_average_before'][0]:.2f} before, "
        f"{report['load_average_after'][0]:.2f} after. Each step is timed around "
        "`call_command('migrate', 'nexus_shop', target)` in one process; backwards, the "
        "migration named is the one undone.",
        "",
        "| direction | migration | seconds |",
        "|---|---|---:|",
    ]
    lines += [
        f"| {step['direction']} | {step['migration']} | {step['seconds']:.1f} |"
        for step in report["steps"]
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
