"""Time ``nexus_shop_seed`` on a scratch PostgreSQL database.

For each size: create a fresh database, migrate it, run the seed command, time it, drop
the database. Prints a table of rows per second.

    PYTHONPATH=src:. python benchmarks/seed.py                     # 100,000 and 1,000,000
    PYTHONPATH=src:. python benchmarks/seed.py --sizes 10000 100000
    PYTHONPATH=src:. python benchmarks/seed.py --server postgres://postgres@127.0.0.1:5432
    PYTHONPATH=src:. python benchmarks/seed.py --unsafe   # benchmarks/seed_unsafe.py instead

Needs ``psycopg`` and a PostgreSQL server that lets the given user create databases.
The scratch database is dropped even when a run fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def _admin(server: str, statement: sql.Composed) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def _django_admin(database_url: str, *args: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
        "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
        ),
    }
    subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        cwd=ROOT,
        check=True,
    )


def run(server: str, size: int, categories: int, seed: int, *, unsafe: bool = False) -> float:
    name = f"nexus_seed_bench_{uuid.uuid4().hex[:8]}"
    database_url = f"{server}/{name}"
    _admin(server, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        _django_admin(database_url, "migrate", "--verbosity", "0")
        sizes = ["--products", str(size), "--categories", str(categories), "--seed", str(seed)]
        started = time.perf_counter()
        if unsafe:
            subprocess.run(
                [sys.executable, str(ROOT / "benchmarks" / "seed_unsafe.py"), *sizes],
                env={**os.environ, "DATABASE_URL": database_url},
                cwd=ROOT,
                check=True,
            )
        else:
            _django_admin(database_url, "nexus_shop_seed", *sizes)
        elapsed = time.perf_counter() - started
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM nexus_shop_product").fetchone()
        if row is None or row[0] != size:
            raise SystemExit(f"expected {size} products, found {row}")
        return elapsed
    finally:
        _admin(
            server,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--categories", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_PG_SERVER", DEFAULT_SERVER),
        help=f"PostgreSQL server URL without a database name (default {DEFAULT_SERVER}).",
    )
    parser.add_argument(
        "--unsafe",
        action="store_true",
        help="Time benchmarks/seed_unsafe.py (indexes dropped for the load) instead.",
    )
    args = parser.parse_args()

    results = [
        (size, run(args.server, size, args.categories, args.seed, unsafe=args.unsafe))
        for size in args.sizes
    ]
    print()
    print(f"{'products':>12} {'categories':>10} {'seconds':>9} {'rows/s':>10}")
    for size, elapsed in results:
        print(f"{size:>12,} {args.categories:>10,} {elapsed:>9.1f} {size / elapsed:>10,.0f}")


if __name__ == "__main__":
    main()
