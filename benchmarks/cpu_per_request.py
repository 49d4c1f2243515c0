"""CPU time per request of a few read endpoints, in-process (no HTTP server, no network).

Isolates nexus_shop's own work (routing, validation, ORM, serialisation) from the server
and the load generator, so two versions of the code can be compared on a busy machine:
``time.process_time`` counts this process's CPU only. cachalot is switched off.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_bench \\
        PYTHONPATH=src:. python benchmarks/cpu_per_request.py --requests 300 --rounds 3

The database must already be migrated and seeded (``nexus_shop_seed``); the suite's test
settings (``tests.settings``) are used for everything else.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is reported")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from cachalot.api import cachalot_disabled
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
    with cachalot_disabled():
        for name, url in urls.items():
            for _ in range(20):  # warm-up
                client.get(url)
            best = min(_round(client, url, args.requests) for _ in range(args.rounds))
            print(f"{name:26s} {best:6.2f} ms CPU per request")


def _round(client: object, url: str, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        response = client.get(url)  # type: ignore[attr-defined]  # django.test.Client
        assert response.status_code == 200, response.content
    return (time.process_time() - start) / n * 1000


if __name__ == "__main__":
    main()
