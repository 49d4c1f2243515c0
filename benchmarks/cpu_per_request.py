"""CPU time per request of a few read endpoints, in-process (no HTTP server, no network).

Isolates nexus_shop's own work (routing, validation, ORM, serialisation) from the server
and the load generator, so two versions of the code can be compared on a busy machine:
``time.process_time`` counts this process's CPU only. cachalot is switched off.

Two figures per endpoint: all the CPU of a request, and the same less the CPU spent inside
the database driver's ``execute`` (psycopg sends the query, then waits for PostgreSQL, and
the wait itself costs CPU in proportion to how long the database takes, which depends on
the machine's load more than on our code). The second is nexus_shop's own work: routing,
validation, building the SQL, turning rows into objects, serialising.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_bench \\
        PYTHONPATH=src:. python benchmarks/cpu_per_request.py --requests 300 --rounds 3

The database must already be migrated and seeded (``nexus_shop_seed``); the suite's test
settings (``tests.settings``) are used for everything else.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is reported")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from cachalot.api import cachalot_disabled
    from django.db import connection
    from django.test import Client

    from nexus_shop.models import Category, Product

    client = Client()
    product = Product.objects.filter(is_active=True).order_by("pk").first()
    if product is None:
        raise SystemExit("the database has no active product: seed it first")
    cursor = client.get("/api/products?page_size=20&ordering=price").json()["next_cursor"]
    category = Category.objects.filter(parent=None).order_by("pk").first()
    if category is None:
        raise SystemExit("the database has no category: seed it first")
    urls = {
        "product detail": f"/api/products/{product.pk}",
        "20-product list (page 1)": "/api/products?page_size=20",
        "20-product cursor page": f"/api/products?page_size=20&ordering=price&cursor={cursor}",
        "category + price ordering": (
            f"/api/products?page_size=20&category={category.slug}&ordering=price"
        ),
        "category list (page 1)": "/api/categories?page_size=20",
        "category detail": f"/api/categories/{category.pk}",
    }
    in_driver = DriverClock()
    print(f"{'':26s} {'all':>8s} {'ours':>8s}  (ms CPU per request, best of {args.rounds})")
    with cachalot_disabled(), connection.execute_wrapper(in_driver):
        for name, url in urls.items():
            for _ in range(20):  # warm-up
                client.get(url)
            rounds = [_round(client, url, args.requests, in_driver) for _ in range(args.rounds)]
            total = min(r[0] for r in rounds)
            ours = min(r[1] for r in rounds)
            print(f"{name:26s} {total:8.2f} {ours:8.2f}")


class DriverClock:
    """A database execute wrapper adding up the CPU spent inside the driver's ``execute``."""

    def __init__(self) -> None:
        self.spent = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            self.spent += time.process_time() - start


def _round(client: Any, url: str, n: int, in_driver: DriverClock) -> tuple[float, float]:
    """(all CPU, CPU outside the driver's execute) per request, in ms."""
    in_driver.spent = 0.0
    start = time.process_time()
    for _ in range(n):
        response = client.get(url)
        assert response.status_code == 200, response.content
    total = time.process_time() - start
    return total / n * 1000, (total - in_driver.spent) / n * 1000


if __name__ == "__main__":
    main()
