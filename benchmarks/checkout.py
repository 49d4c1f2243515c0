"""Checkout throughput on one hot product: orders per second and checkout latency.

``nox -s bench -- --checkout`` is not wired; run it directly (in the bench venv)::

    python benchmarks/checkout.py [--connections 16 64] [--duration 15] [--workers 2]

It

1. creates a scratch PostgreSQL database (``nexus_bench_checkout``) and migrates it;
2. creates one product with a huge stock (every order takes 1 unit of it: the worst case,
   every checkout contends for the same row) and one user per connection;
3. starts uvicorn (``--workers`` processes, ASGI) on the benchmark project;
4. for each connection count, runs that many client threads, each with its own keep-alive
   HTTP connection and user, looping *add 1 unit to the cart, check out with a fresh
   Idempotency-Key* for ``--duration`` seconds;
5. checks the books (orders created == 201 answers == units taken from stock) and writes
   ``benchmarks/results/checkout.json`` and ``checkout.md``.

Orders/s counts completed checkouts; latency is the checkout request's own (the add-to-cart
request before it is not counted). The load generator is Python threads on the same
machine, so at high connection counts it competes with the server for CPU: the figures are
a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # run.py is a sibling script, not a package
    django_env,
    free_port,
    pg_url,
    postgres_version,
    recreate_database,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_bench_checkout"
HOT_STOCK = 100_000_000

SETUP = """
import json
from decimal import Decimal
from nexus_shop.services.catalog import product_create
from nexus_shop.tokens import RefreshToken
from django.contrib.auth import get_user_model
User = get_user_model()
product = product_create(
    name="Hot product", slug="hot-product", sku="HOT-1", price=Decimal("9.99"), stock={stock},
)
tokens = []
for n in range({users}):
    user = User.objects.create_user(f"buyer{{n}}", f"buyer{{n}}@example.com", "x")
    tokens.append(str(RefreshToken.for_user(user).access_token))
print(json.dumps({{"product": product.pk, "tokens": tokens}}))
"""


def setup_data(database_url: str, users: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "django", "shell", "-c", SETUP.format(stock=HOT_STOCK, users=users)],
        env=django_env(database_url, BENCH_ONLY="nexus"),
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


@contextlib.contextmanager
def serve(database_url: str, *, workers: int) -> Iterator[int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchproject.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=django_env(database_url, BENCH_ONLY="nexus"))
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                sys.exit(f"uvicorn exited with {process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/api/health")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("uvicorn did not start within 30 s")
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post(conn: http.client.HTTPConnection, path: str, body: Any, headers: dict[str, str]) -> int:
    conn.request(
        "POST",
        path,
        body=json.dumps(body),
        headers={"Content-Type": "application/json", **headers},
    )
    response = conn.getresponse()
    response.read()
    return response.status


def load(port: int, *, product: int, tokens: list[str], duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start_barrier = threading.Barrier(len(tokens) + 1)
    stop_at: list[float] = [0.0]

    def client(token: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        auth = {"Authorization": f"Bearer {token}"}
        mine: list[float] = []
        seen: dict[int, int] = {}
        start_barrier.wait()
        while time.monotonic() < stop_at[0]:
            added = _post(conn, "/api/cart/items", {"product_id": product, "quantity": 1}, auth)
            if added != 200:
                seen[added] = seen.get(added, 0) + 1
                continue
            began = time.perf_counter()
            status = _post(
                conn, "/api/checkout", {}, {**auth, "Idempotency-Key": str(uuid.uuid4())}
            )
            mine.append(time.perf_counter() - began)
            seen[status] = seen.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for key, value in seen.items():
                statuses[key] = statuses.get(key, 0) + value

    threads = [threading.Thread(target=client, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + duration
    began = time.monotonic()
    start_barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ordered = statuses.get(201, 0)
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {
        "connections": len(tokens),
        "seconds": round(elapsed, 1),
        "orders": ordered,
        "orders_per_s": round(ordered / elapsed, 1),
        "latency_ms": {
            "p50": pct(0.50),
            "p90": pct(0.90),
            "p99": pct(0.99),
            "max": round(latencies[-1] * 1000, 1),
            "mean": round(statistics.fmean(latencies) * 1000, 1),
        },
        "statuses": {str(key): value for key, value in sorted(statuses.items())},
    }


def books(database_url: str, product: int) -> dict[str, int]:
    import psycopg

    with psycopg.connect(pg_url(database_url)) as conn:
        orders = conn.execute("SELECT count(*) FROM nexus_shop_order").fetchone()
        stock = conn.execute(  # the variants' stock: what checkout takes
            "SELECT sum(stock) FROM nexus_shop_productvariant WHERE product_id = %s", [product]
        ).fetchone()
    assert orders is not None
    assert stock is not None
    return {"orders": int(orders[0]), "units_sold": HOT_STOCK - int(stock[0])}


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Checkout throughput, one hot product ({report['date']}, {report['machine']}, "
        f"{report['postgres']}, uvicorn {report['workers']} worker(s), "
        f"{report['duration_s']} s per run; load average {report['load_average_1m']} "
        "at the end).",
        "",
        "| connections | orders/s | p50 ms | p90 ms | p99 ms | max ms | answers |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in report["runs"]:
        lat = run["latency_ms"]
        answers = ", ".join(f"{k}: {v}" for k, v in run["statuses"].items())
        lines.append(
            f"| {run['connections']} | {run['orders_per_s']} | {lat['p50']} | {lat['p90']} "
            f"| {lat['p99']} | {lat['max']} | {answers} |"
        )
    lines += [
        "",
        f"Books after all runs: {report['books']['orders']} orders, "
        f"{report['books']['units_sold']} units taken from stock, "
        f"{report['created_total']} answers of 201.",
        "",
        "Reproduce: `python benchmarks/checkout.py` in the bench environment "
        "(`nox -s bench` installs it).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args(argv)

    name = urlsplit(args.database_url).path.lstrip("/")
    print(f"recreating {name}", flush=True)
    recreate_database(args.database_url)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v", "0"],
        env=django_env(args.database_url, BENCH_ONLY="nexus"),
        check=True,
    )
    data = setup_data(args.database_url, max(args.connections))
    runs = []
    with serve(args.database_url, workers=args.workers) as port:
        for connections in args.connections:
            print(f"{connections} connections, {args.duration} s...", flush=True)
            result = load(
                port,
                product=data["product"],
                tokens=data["tokens"][:connections],
                duration=args.duration,
            )
            print(json.dumps(result), flush=True)
            runs.append(result)
    ledger = books(args.database_url, data["product"])
    created = sum(run["orders"] for run in runs)
    assert ledger["orders"] == created == ledger["units_sold"], (ledger, created)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        # Shared machines: the 1-minute load average says how much else was running.
        "load_average_1m": round(os.getloadavg()[0], 1),
        "postgres": postgres_version(args.database_url),
        "workers": args.workers,
        "duration_s": args.duration,
        "runs": runs,
        "books": ledger,
        "created_total": created,
    }
    text = markdown(report)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "checkout.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / "checkout.md").write_text(text)


if __name__ == "__main__":
    main()
