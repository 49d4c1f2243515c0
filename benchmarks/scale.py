"""Latency of every documented list shape on a 1,000,000-product catalogue (issue 12).

``nox -s bench -- --scale`` runs this file; ``nox -s bench -- --scale --help`` lists the
options. It

1. creates a scratch PostgreSQL database (``nexus_bench_scale``), migrates it and seeds
   1,000,000 products in 60 categories with ``nexus_shop_seed``, timing the seed (skipped
   with ``--reuse-database``);
2. loads the example project's settings in this process, with django-cachalot off, and
   sends each request shape ``--requests`` times (15) through Django's full request path
   (middleware, router, selector, serialization; no HTTP server), one at a time, each
   time with another random word, category or price, after one warm-up request;
3. prints the p50 and max of each shape against its target, the ``EXPLAIN (ANALYZE,
   BUFFERS)`` of the slowest shapes' SQL, and the machine's load average, and writes
   ``benchmarks/results/scale.json`` and ``benchmarks/results/scale.md`` (which
   ``docs/performance-scale.md`` includes).

The machine's load is part of every figure: the load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_bench_scale"

sys.path.insert(0, str(HERE))
from run import recreate_database  # noqa: E402  (run.py is a sibling script, not a package)

# Shapes ---------------------------------------------------------------------------------------


@dataclass
class Shape:
    name: str
    group: str  # "filter" | "option filter" | "search" | "facets" | "option facets" | ...
    target_p50_ms: float
    target_max_ms: float | None
    make: Callable[[random.Random], str]  # a fresh URL for each request


@dataclass
class Result:
    name: str
    group: str
    target_p50_ms: float
    target_max_ms: float | None
    p50_ms: float
    max_ms: float
    samples_ms: list[float]
    met: bool
    example_url: str
    statuses: list[int] = field(default_factory=list)


@dataclass
class Vocabulary:
    words: list[str]
    leaves: list[str]
    roots: list[str]
    cursors: dict[str, list[str]]
    product_ids: list[int]
    # (name, value) pairs of the variants' options, commonest first (issue 17): empty on a
    # catalogue without variants (an older checkout), whose run then has no option shapes.
    options: list[tuple[str, str]] = field(default_factory=list)


def _price(rng: random.Random) -> str:
    return f"{rng.choice([5, 10, 20, 30, 50, 80, 100, 150, 200, 300])}"


def _price_range(rng: random.Random) -> dict[str, int]:
    """A valid range (min below max: a request for a 422 measures nothing)."""
    low = int(_price(rng))
    return {"min_price": low, "max_price": low + rng.choice([10, 50, 100])}


def _typo(word: str, rng: random.Random) -> str:
    """One edit: drop one letter inside the word ("headphnes")."""
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]


def shapes(v: Vocabulary) -> list[Shape]:
    def word(rng: random.Random) -> str:
        return rng.choice(v.words)

    def words(rng: random.Random, n: int) -> str:
        return " ".join(rng.sample(v.words, n))

    def products(rng: random.Random, **params: Any) -> str:
        return "/api/products?" + urlencode(params)

    filter_shapes = [
        ("list page 1 (-created_at)", lambda r: products(r, page_size=20)),
        ("ordering=price", lambda r: products(r, ordering="price")),
        ("ordering=-price", lambda r: products(r, ordering="-price")),
        ("ordering=name", lambda r: products(r, ordering="name")),
        ("ordering=-name", lambda r: products(r, ordering="-name")),
        ("ordering=created_at", lambda r: products(r, ordering="created_at")),
        (
            "category=<leaf>&ordering=-price",
            lambda r: products(r, category=r.choice(v.leaves), ordering="-price"),
        ),
        ("category=<root> (subtree)", lambda r: products(r, category=r.choice(v.roots))),
        (
            "category=<root>&ordering=name",
            lambda r: products(r, category=r.choice(v.roots), ordering="name"),
        ),
        ("in_stock=true&ordering=name", lambda r: products(r, in_stock="true", ordering="name")),
        ("in_stock=false", lambda r: products(r, in_stock="false")),
        (
            "min_price&max_price",
            lambda r: products(r, **_price_range(r)),
        ),
        (
            "min_price&max_price&ordering=price",
            lambda r: products(r, **_price_range(r), ordering="price"),
        ),
        (
            "category=<root>&min_price&in_stock&ordering=-price",
            lambda r: products(
                r,
                category=r.choice(v.roots),
                min_price=_price(r),
                in_stock="true",
                ordering="-price",
            ),
        ),
        (
            "page 500 of 20 (OFFSET 9,980, the page-mode limit)",
            lambda r: products(
                r, page=500, page_size=20, ordering=r.choice(["price", "-created_at", "name"])
            ),
        ),
    ]
    search_shapes = [
        ("q=<1 word>", lambda r: products(r, q=word(r))),
        ("q=<2 words>", lambda r: products(r, q=words(r, 2))),
        ("q=<3 words>", lambda r: products(r, q=words(r, 3))),
        ("q=<4-letter prefix>", lambda r: products(r, q=word(r)[:4])),
        (
            "q=<4-letter prefix>&ordering=relevance",
            lambda r: products(r, q=word(r)[:4], ordering="relevance"),
        ),
        ("q=<typo>", lambda r: products(r, q=_typo(word(r), r))),
        (
            "q=<typo>&ordering=relevance",
            lambda r: products(r, q=_typo(word(r), r), ordering="relevance"),
        ),
        ("q=<word>&ordering=relevance", lambda r: products(r, q=word(r), ordering="relevance")),
        (
            "q=<2 words>&ordering=relevance",
            lambda r: products(r, q=words(r, 2), ordering="relevance"),
        ),
        ("q=<word>&ordering=price", lambda r: products(r, q=word(r), ordering="price")),
        ("q=<word>&ordering=-price", lambda r: products(r, q=word(r), ordering="-price")),
        ("q=<word>&ordering=name", lambda r: products(r, q=word(r), ordering="name")),
        ("q=<word>&ordering=created_at", lambda r: products(r, q=word(r), ordering="created_at")),
        (
            "q=<word>&category=<root>&max_price=500",
            lambda r: products(r, q=word(r), category=r.choice(v.roots), max_price=500),
        ),
        ("q=<word>&category=<leaf>", lambda r: products(r, q=word(r), category=r.choice(v.leaves))),
        (
            "q=<word>&min_price&max_price&ordering=relevance",
            lambda r: products(
                r,
                q=word(r),
                **_price_range(r),
                ordering="relevance",
            ),
        ),
    ]
    facet_shapes = [
        ("facets", lambda r: "/api/products/facets"),
        ("facets?q=<word>", lambda r: "/api/products/facets?" + urlencode({"q": word(r)})),
        (
            "facets?category=<root>",
            lambda r: "/api/products/facets?" + urlencode({"category": r.choice(v.roots)}),
        ),
        (
            "facets?q=<word>&category=<root>&max_price=500",
            lambda r: (
                "/api/products/facets?"
                + urlencode({"q": word(r), "category": r.choice(v.roots), "max_price": 500})
            ),
        ),
        (
            "facets?q=<typo>",
            lambda r: "/api/products/facets?" + urlencode({"q": _typo(word(r), r)}),
        ),
    ]

    def option(rng: random.Random, name: str | None = None) -> str:
        pairs = [p for p in v.options if name is None or p[0] == name]
        chosen = rng.choice(pairs)
        return f"{chosen[0]}:{chosen[1]}"

    def two_names(rng: random.Random) -> list[str]:
        names = sorted({n for n, _ in v.options})
        first, second = rng.sample(names, 2) if len(names) > 1 else (names[0], names[0])
        return [option(rng, first), option(rng, first), option(rng, second)]

    def facets(**params: Any) -> str:
        return "/api/products/facets?" + urlencode(params, doseq=True)

    option_filter_shapes = [
        ("option=<name>:<value>", lambda r: products(r, option=option(r))),
        (
            "option=<a>:<x>&option=<a>:<y>&option=<b>:<z>",
            lambda r: "/api/products?" + urlencode({"option": two_names(r)}, doseq=True),
        ),
        (
            "option=<name>:<value>&max_price&in_stock=true",
            lambda r: products(r, option=option(r), max_price=_price(r), in_stock="true"),
        ),
        (
            "option=<name>:<value>&category=<root>&ordering=price",
            lambda r: products(r, option=option(r), category=r.choice(v.roots), ordering="price"),
        ),
    ]
    option_facet_shapes = [
        ("facets?option=<name>:<value>", lambda r: facets(option=option(r))),
        ("facets?option=<a>:<x>&option=<b>:<z>", lambda r: facets(option=two_names(r)[1:])),
        (
            "facets?q=<word>&option=<name>:<value>",
            lambda r: facets(q=word(r), option=option(r)),
        ),
    ]
    if not v.options:
        option_filter_shapes, option_facet_shapes = [], []

    def cursor_of(name: str) -> Callable[[random.Random], str]:
        return lambda r: r.choice(v.cursors[name])

    cursor_shapes = [(f"cursor page, {name}", cursor_of(name)) for name in v.cursors]
    out = [Shape(n, "filter", 50, 100, m) for n, m in filter_shapes]
    # Issue 17: the option filter <= 50 ms p50, the option facets <= 100 ms p50.
    out += [Shape(n, "option filter", 50, None, m) for n, m in option_filter_shapes]
    out += [Shape(n, "search", 50, 100, m) for n, m in search_shapes]
    out += [Shape(n, "facets", 100, None, m) for n, m in facet_shapes]
    out += [Shape(n, "option facets", 100, None, m) for n, m in option_facet_shapes]
    out += [Shape(n, "cursor", 20, 20, m) for n, m in cursor_shapes]
    out.append(
        Shape(
            "product detail",
            "detail",
            50,
            100,
            lambda r: f"/api/products/{r.choice(v.product_ids)}",
        )
    )
    return out


# Setup ----------------------------------------------------------------------------------------


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "example_project"), str(ROOT / "src")]),
    }


def seed(database_url: str, *, products: int, categories: int) -> float:
    env = _env(database_url)
    django = [sys.executable, "-m", "django"]
    subprocess.run([*django, "migrate", "--verbosity", "0"], env=env, check=True)
    started = time.perf_counter()
    subprocess.run(
        [
            *django,
            "nexus_shop_seed",
            "--products",
            str(products),
            "--categories",
            str(categories),
            "--verbosity",
            "1",
        ],
        env=env,
        check=True,
    )
    return time.perf_counter() - started


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def vocabulary(client: Any, rng: random.Random) -> Vocabulary:
    from nexus_shop.models import Category, Product
    from nexus_shop.seeding.words import DEPARTMENTS

    # Words of the departments the seed used (its root categories): each is in the catalogue.
    seeded = set(Category.objects.filter(parent__isnull=True).values_list("name", flat=True))
    words: set[str] = set()
    for department in DEPARTMENTS:
        if department.name not in seeded:
            continue
        for phrase in (*department.nouns, *department.adjectives):
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{5,}", phrase))
    leaves = list(Category.objects.filter(children__isnull=True).values_list("slug", flat=True))
    roots = list(Category.objects.filter(parent__isnull=True).values_list("slug", flat=True))
    ids = list(
        Product.objects.filter(is_active=True).order_by("?").values_list("pk", flat=True)[:200]
    )

    # Cursors deep into the list: follow next_cursor from a page-mode page near the limit.
    cursors: dict[str, list[str]] = {}
    for name, params in [
        ("ordering=price at depth ~10,000", {"ordering": "price", "page": 500}),
        ("-created_at at depth ~10,000", {"page": 500}),
        ("ordering=name at depth ~10,000", {"ordering": "name", "page": 500}),
        ("q=<word>&ordering=relevance page 2", {"ordering": "relevance"}),
        ("q=<word>&ordering=price page 2", {"ordering": "price"}),
    ]:
        found = []
        for _ in range(15):
            query = dict(params)
            if name.startswith("q="):
                query["q"] = rng.choice(sorted(words))
            base = "/api/products?" + urlencode(query)
            body = client.get(base).json()
            if body.get("next_cursor"):
                query.pop("page", None)
                found.append("/api/products?" + urlencode({**query, "cursor": body["next_cursor"]}))
        cursors[name] = found
    return Vocabulary(sorted(words), leaves, roots, cursors, ids, _options())


def _options() -> list[tuple[str, str]]:
    """The catalogue's option values, up to 40 per name, commonest first."""
    try:
        from nexus_shop.models import VariantOption
    except ImportError:  # a checkout from before variants
        return []
    from django.db.models import Count

    rows = (
        VariantOption.objects.values("name_key", "value_key")
        .annotate(n=Count("*"))
        .order_by("-n")[:400]
    )
    per_name: dict[str, int] = {}
    pairs: list[tuple[str, str]] = []
    for row in rows:
        if per_name.get(row["name_key"], 0) < 40:
            per_name[row["name_key"]] = per_name.get(row["name_key"], 0) + 1
            pairs.append((row["name_key"], row["value_key"]))
    return pairs


def measure(
    shape: Shape, client: Any, rng: random.Random, requests: int
) -> tuple[Result, list[str]]:
    from django.db import connection, reset_queries

    client.get(shape.make(rng))  # warm-up: imports, plan cache, buffers for this shape
    samples, statuses, urls = [], [], []
    slowest_sql: list[str] = []
    slowest = -1.0
    for _ in range(requests):
        url = shape.make(rng)
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        samples.append(elapsed)
        statuses.append(response.status_code)
        urls.append(url)
        if elapsed > slowest:
            slowest = elapsed
            slowest_sql = [q["sql"] for q in connection.queries]
    p50 = statistics.median(samples)
    worst = max(samples)
    met = p50 <= shape.target_p50_ms and (
        shape.target_max_ms is None or worst <= shape.target_max_ms
    )
    met = met and all(s == 200 for s in statuses)
    result = Result(
        shape.name,
        shape.group,
        shape.target_p50_ms,
        shape.target_max_ms,
        round(p50, 1),
        round(worst, 1),
        [round(s, 1) for s in samples],
        met,
        urls[samples.index(worst)],
        statuses,
    )
    return result, slowest_sql


def explain(sql_list: list[str]) -> str:
    """EXPLAIN ANALYZE each query as the request ran it: its planner settings replayed."""
    from django.db import connection, transaction

    from nexus_shop.selectors.search import PLAN_SETTING

    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in sql_list:
            if PLAN_SETTING in sql:
                cursor.execute(sql)
                plans.append(sql)
                continue
            if sql.split(" ", 1)[0] in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}:
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plans.append(sql + "\n" + "\n".join(row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)
    return "\n\n".join(plans)


# Report ---------------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def markdown(report: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    lines = [
        f"Measured {report['date']} on {report['machine']} ({report['cpus']} CPUs shared with "
        f"other work; load average {report['load_before']} before, {report['load_after']} "
        f"after). {report['products']:,} products, {report['categories']} categories; "
        f"{report['requests']} requests per shape, one at a time, query cache and response "
        "cache off, "
        "in-process (Django's full request path, no HTTP server).",
        "",
    ]
    if report.get("seed_seconds") is not None:
        lines += [f"Seeding took {report['seed_seconds']:.1f} s.", ""]
    before = {r["name"]: r for r in baseline["results"]} if baseline else {}
    if baseline:
        lines += [
            f"The *before* column (p50 / max) is `{report['baseline']}`, measured "
            f"{baseline['date']} on the same machine and catalogue.",
            "",
            "| shape | before | p50 | max | target | met |",
            "|---|---:|---:|---:|---|:-:|",
        ]
    else:
        lines += ["| shape | p50 | max | target | met |", "|---|---:|---:|---|:-:|"]
    for r in report["results"]:
        target = f"≤ {r['target_p50_ms']:g} ms p50" + (
            f", ≤ {r['target_max_ms']:g} ms max" if r["target_max_ms"] is not None else ""
        )
        was = before.get(r["name"])
        column = ""
        if baseline:
            column = f" {was['p50_ms']:.1f} / {was['max_ms']:.1f} ms |" if was else " |"
        lines.append(
            f"| {r['name'].replace('|', '&#124;')} |{column} {r['p50_ms']:.1f} ms | "
            f"{r['max_ms']:.1f} ms | {target} | {'yes' if r['met'] else '**no**'} |"
        )
    lines += ["", "Plans of the slowest shapes (their slowest request):", ""]
    for name, url, plan in report["plans"]:
        lines += [f"**{name}**: `{url}`", "", "```text", plan, "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:  # noqa: PLR0915  (a script's linear story)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_SCALE_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--categories", type=int, default=60)
    parser.add_argument("--reuse-database", action="store_true", help="skip create+seed")
    parser.add_argument("--requests", type=int, default=15, help="requests per shape")
    parser.add_argument("--explain", type=int, default=4, help="EXPLAIN the N slowest shapes")
    parser.add_argument("--only", default="", help="regex: measure only matching shapes")
    parser.add_argument("--output", type=Path, default=RESULTS / "scale.json")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="an earlier scale.json: the report shows its p50 / max next to each shape",
    )
    args = parser.parse_args(argv)

    seed_seconds = None
    if not args.reuse_database:
        recreate_database(args.database_url)
        seed_seconds = seed(args.database_url, products=args.products, categories=args.categories)
        print(f"seeded in {seed_seconds:.1f}s", flush=True)

    os.environ.update({k: v for k, v in _env(args.database_url).items() if k != "PYTHONPATH"})
    sys.path[:0] = [str(ROOT / "example_project"), str(ROOT / "src")]
    import django

    django.setup()
    from cachalot.api import cachalot_disabled
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    settings.DEBUG = True  # connection.queries, for the plans of the slowest requests
    # Cold path: the response cache off as well as the query cache (cachalot_disabled below).
    settings.NEXUS_SHOP_RESPONSE_CACHE = None
    from nexus_shop.http_cache.engine import get_engine, reset_engine

    reset_engine()
    if get_engine() is not None:
        sys.exit("the response cache is still on; these figures would be cache hits")
    rng = random.Random(12)  # noqa: S311  (varied requests, reproducible; not secret)
    client = Client()
    load_before = load()
    results: list[Result] = []
    sql_of: dict[str, list[str]] = {}
    with cachalot_disabled():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM nexus_shop_product")
            (products,) = cursor.fetchone()
        v = vocabulary(client, rng)
        for shape in shapes(v):
            if args.only and not re.search(args.only, shape.name):
                continue
            result, sql = measure(shape, client, rng, args.requests)
            results.append(result)
            sql_of[shape.name] = sql
            print(
                f"{shape.name:60} p50 {result.p50_ms:8.1f} ms  max {result.max_ms:8.1f} ms  "
                f"{'ok' if result.met else 'MISSED'}",
                flush=True,
            )
        # The slowest shapes relative to their target, explained.
        worst = sorted(results, key=lambda r: r.p50_ms / r.target_p50_ms, reverse=True)
        plans = [(r.name, r.example_url, explain(sql_of[r.name])) for r in worst[: args.explain]]
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": load(),
        "products": products,
        "categories": args.categories,
        "requests": args.requests,
        "seed_seconds": seed_seconds,
        "command": "python3 -m nox -s bench -- --scale " + " ".join(argv or sys.argv[1:]),
        "baseline": _shown(args.baseline) if args.baseline else None,
        "results": [asdict(r) for r in results],
        "plans": plans,
    }
    for name, url, plan in plans:
        print(f"\n== {name}: {url}\n{plan}")
    met = sum(r.met for r in results)
    print(f"\n{met}/{len(results)} shapes met their target; load average {report['load_after']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    args.output.with_suffix(".md").write_text(markdown(report, baseline) + "\n")
    print(f"wrote {args.output} and {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
