"""What django-cachalot adds on its own: the same server with the query cache on and off.

``nox -s bench -- --query-cache`` runs this file (``--help`` lists its options). The
response cache is **off** on both sides, so every request runs the view; the only
difference is whether cachalot answers the ORM's queries from Redis. It

1. creates and seeds a scratch database as ``run.py`` does (or reuses it);
2. starts two single-worker granian WSGI servers of ``benchproject``: one without Redis
   (no query cache), one with ``REDIS_URL`` set (cachalot on, the response cache off);
3. runs ``wrk`` on the product detail, list page 1, a category filter with price ordering
   and a search, the two servers taking turns for ``--rounds`` rounds, medians kept;
4. writes ``benchmarks/results/query_cache.json`` and prints a Markdown table.

The URLs are fixed, so cachalot's hit ratio is close to 100%: this is what it adds to
repeated reads, its best case. A write to a table invalidates every cached query on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (
    RESULTS,
    Stack,
    add_catalogue_arguments,
    catalogue_facts,
    django_env,
    ensure_wrk,
    fresh_catalogue,
    prepare,
    run_wrk,
    serve,
)

CASES = ("detail", "list", "category", "search")
STACKS = [
    Stack("nexus-granian", "nexus_shop, granian WSGI, no query cache", "nexus", "granian-wsgi"),
    Stack("nexus-granian-cachalot", "nexus_shop, granian WSGI, cachalot", "nexus", "granian-wsgi"),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_catalogue_arguments(parser)
    parser.add_argument("--duration", default="5s", help="wrk -d per point and round")
    parser.add_argument("--warmup", default="1s", help="wrk -d of each warm-up")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--output", type=Path, default=RESULTS / "query_cache.json")
    args = parser.parse_args(argv)

    wrk = ensure_wrk()
    load_before = os.getloadavg()
    fresh_catalogue(args)
    facts = catalogue_facts(args.database_url)
    prefix = f"nexus-bench-qc-{uuid.uuid4().hex[:8]}"
    envs = {
        STACKS[0].key: django_env(args.database_url, BENCH_ONLY="nexus"),
        STACKS[1].key: django_env(
            args.database_url,
            BENCH_ONLY="nexus",
            REDIS_URL=args.redis_url,
            BENCH_CACHE_PREFIX=prefix,
        ),
    }
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with (
        serve(STACKS[0], envs[STACKS[0].key]) as cold,
        serve(STACKS[1], envs[STACKS[1].key]) as cached,
    ):
        servers = [cold, cached]
        for server in servers:
            prepare(server, facts)
        for case in CASES:
            for server in servers:  # warm up: connections, cachalot's entries
                run_wrk(wrk, server.urls[case], duration=args.warmup, connections=4, threads=1)
            for _ in range(args.rounds):
                for server in servers:
                    point = run_wrk(
                        wrk,
                        server.urls[case],
                        duration=args.duration,
                        connections=args.connections,
                        threads=1,
                    )
                    rounds.setdefault((server.stack.key, case), []).append(point)
    load_after = os.getloadavg()

    results = []
    for (stack, case), points in rounds.items():
        rps = [p["requests_per_second"] for p in points]
        results.append(
            {
                "stack": stack,
                "case": case,
                "connections": args.connections,
                "requests_per_second": statistics.median(rps),
                "p50_ms": statistics.median(p["p50_ms"] for p in points if p["p50_ms"]),
                "errors": sum(p["errors"] for p in points),
                "rounds": rps,
            }
        )
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_before": load_before,
        "load_average_after": load_after,
        "products": args.products,
        "duration": args.duration,
        "rounds": args.rounds,
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    by = {(r["stack"], r["case"]): r for r in report["results"]}
    lines = [
        f"{report['products']:,} products, wrk -c{report['results'][0]['connections']} "
        f"-d{report['duration']}, median of {report['rounds']} rounds; load average "
        f"{report['load_average_before'][0]:.2f} before, "
        f"{report['load_average_after'][0]:.2f} after.",
        "",
        "| case | no query cache (rps, p50) | cachalot (rps, p50) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for case in CASES:
        cold, cached = by[(STACKS[0].key, case)], by[(STACKS[1].key, case)]
        ratio = cached["requests_per_second"] / cold["requests_per_second"]
        lines.append(
            f"| {case} | {cold['requests_per_second']:,.0f}, {cold['p50_ms']:.1f} ms "
            f"| {cached['requests_per_second']:,.0f}, {cached['p50_ms']:.1f} ms "
            f"| {ratio:.2f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
