"""What the outbox adds to a write: a product update and a checkout, events on and off.

``nox -s bench -- --outbox`` runs this file (``--help`` lists its options). Issue 19's
target: the outbox adds at most 1 ms to the p50 of a product write and of a checkout. In
one run it

1. creates and migrates a scratch PostgreSQL database (``nexus_bench_outbox``, dropped
   and re-created unless ``--reuse-database``) and seeds a small catalogue, so the tables
   and their indexes are not empty;
2. in this process (no HTTP, no server: the service calls alone), with every cache off
   (no Redis, so no cachalot), makes a product with four variants and a product with a
   huge stock, and one buyer;
3. times, for ``--rounds`` rounds, ``--calls`` calls of each case with events on and the
   same number inside ``events.suppressed()`` (which builds no payload and writes no
   row), the two taking turns within each round and which goes first alternating from
   round to round:

   - *product write*: what ``PATCH /products/{id}`` does, ``services.catalog.product_update``
     renaming the product, then the detail it answers with (``product_written``, from the
     service's own instance). Its event is that detail: the service reads the variants
     and images to render it (two statements) and the answer reuses them, so events add
     the outbox's one statement and the rendering;
   - *checkout*: what ``POST /checkout`` does, ``services.checkout.checkout`` of a cart
     of one line, its body rendered from the rows in memory, which is also the
     ``order.created`` event's data (the outbox's one statement); putting the line in the
     cart is not timed;

4. prints, per case, the p50 and p90 with events off and on, the p50 difference against
   the target, the median over the rounds of each round's p50 difference, this process's
   mean CPU per call (less sensitive to a busy machine than the wall clock, though
   psycopg's wait for PostgreSQL costs CPU too), the p50 of the time spent inside
   ``events.emit()`` (its one statement; whatever the call adds beyond that is the
   payload's validation, the commit's bigger WAL record and what the extra rows cost the
   server) and the statements each call runs; the
   load average before and after (``uptime``); and writes
   ``benchmarks/results/outbox_cost.json``.

The difference looked for is a fraction of a millisecond, less than what a busy neighbour
does to one call: run it alone, and compare figures from one run only. ``DATABASE_URL`` is
not read; ``--database-url`` names the scratch database.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # run.py is a sibling script, not a package
    RESULTS,
    django_env,
    pg_url,
    postgres_version,
    python_path,
    recreate_database,
    uptime,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_bench_outbox"
TARGET_MS = 1.0
HOT_STOCK = 100_000_000


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_OUTBOX_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="scratch database, dropped and re-created (name must start with nexus_bench)",
    )
    parser.add_argument("--reuse-database", action="store_true", help="skip create + seed")
    parser.add_argument("--products", type=int, default=2000, help="catalogue to seed")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=100, help="per case, mode and round")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls per case and mode")
    parser.add_argument(
        "--synchronous-commit",
        choices=("on", "off"),
        default="on",
        help="PostgreSQL's synchronous_commit for this process's session. 'off' takes the "
        "WAL flush (a disk's fsync, whose jitter on a shared VM is larger than the "
        "difference measured) out of every commit, on and off alike; the outbox's row "
        "rides in the same commit either way",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "outbox_cost.json")
    return parser


def manage(database_url: str, *args: str) -> None:
    """A management command on the benchmark project, nexus_shop's API only (no DRF)."""
    subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=django_env(database_url, BENCH_ONLY="nexus"),
        check=True,
    )


def prepare_database(args: argparse.Namespace) -> None:
    if args.reuse_database:
        return
    print(f"creating, migrating and seeding {args.database_url}", flush=True)
    recreate_database(args.database_url)
    manage(args.database_url, "migrate", "--noinput", "-v", "0")
    manage(args.database_url, "nexus_shop_seed", "--products", str(args.products), "-v", "0")
    import psycopg

    with psycopg.connect(pg_url(args.database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def setup_django(database_url: str) -> None:
    """This process as a benchproject server would be, every cache off."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchproject.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": "",
            "BENCH_ONLY": "nexus",
        }
    )
    for part in reversed(python_path().split(os.pathsep)):
        if part not in sys.path:
            sys.path.insert(0, part)
    import django

    django.setup()


# Milliseconds spent inside ``events.emit`` (its one statement) during the current call.
# Not in it: the payload's rendering, whose reads the product write's answer reuses and
# whose validation and dump cost about 0.02 ms; checkout renders its body either way.
# What the whole call adds beyond this is the commit's larger WAL record and what the
# extra rows cost the server.
_inside: list[float] = []


def _instrument() -> None:
    from nexus_shop.services import events

    emit = events.emit

    def timed_emit(**kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return emit(**kwargs)
        finally:
            _inside.append((time.perf_counter() - start) * 1000)

    events.emit = timed_emit  # type: ignore[assignment]  # the benchmark's probe


class Case:
    """One write, timed call by call; ``prepare`` (untimed) runs before each call."""

    def __init__(
        self, name: str, call: Callable[[int], Any], prepare: Callable[[int], Any] | None = None
    ) -> None:
        self.name = name
        self.call = call
        self.prepare = prepare
        self.counter = 0

    def timed(self) -> tuple[float, float, float]:
        """One call: its wall time, this process's CPU time and the time inside the outbox's
        code (``_inside``), in ms."""
        self.counter += 1
        if self.prepare is not None:
            self.prepare(self.counter)
        _inside.clear()
        start, cpu = time.perf_counter(), time.process_time()
        self.call(self.counter)
        wall, used = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000
        return wall, used, sum(_inside)


def cases() -> list[Case]:
    from django.contrib.auth import get_user_model

    from nexus_shop.selectors.products import product_written
    from nexus_shop.services.cart import Holder, cart_add_item
    from nexus_shop.services.catalog import product_create, product_update
    from nexus_shop.services.checkout import checkout

    tag = uuid.uuid4().hex[:8]
    sizes = ("S", "M", "L", "XL")
    product = product_create(
        name=f"Outbox tee {tag}",
        sku=f"OUTBOX-{tag}",
        options=[{"name": "Size", "values": list(sizes)}],
        variants=[
            {
                "sku": f"OUTBOX-{tag}-{size}",
                "options": {"Size": size},
                "price": Decimal("20.00"),
                "stock": 50,
            }
            for size in sizes
        ],
    )
    hot = product_create(
        name=f"Outbox mug {tag}", sku=f"MUG-{tag}", price=Decimal("9.99"), stock=HOT_STOCK
    )
    buyer = get_user_model().objects.create_user(f"outbox-{tag}", password=None)
    holder = Holder(user=buyer, token=None)

    def rename(n: int) -> None:
        written = product_update(product_id=product.pk, name=f"Outbox tee {tag} {n}")
        product_written(product_id=written.pk, current=written)  # the endpoint's answer

    def fill_cart(n: int) -> None:
        cart_add_item(holder=holder, product_id=hot.pk, quantity=1)

    def buy(n: int) -> None:
        checkout(user=buyer, cart_token=None, idempotency_key=f"{tag}-{n}")

    return [Case("product write", rename), Case("checkout", buy, prepare=fill_cart)]


def statements(case: Case, *, events_on: bool) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from nexus_shop.services import events

    with CaptureQueriesContext(connection) as captured:
        if events_on:
            case.timed()
        else:
            with events.suppressed():
                case.timed()
    return len(captured.captured_queries)


def batch(case: Case, calls: int, *, events_on: bool) -> list[tuple[float, float, float]]:
    from nexus_shop.services import events

    gc.collect()
    if events_on:
        return [case.timed() for _ in range(calls)]
    with events.suppressed():
        return [case.timed() for _ in range(calls)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(case: Case, args: argparse.Namespace) -> dict[str, Any]:
    batch(case, args.warmup, events_on=True)
    batch(case, args.warmup, events_on=False)
    samples: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    inside: list[float] = []
    round_deltas: list[float] = []
    for n in range(args.rounds):
        order = (True, False) if n % 2 == 0 else (False, True)
        this_round = {on: batch(case, args.calls, events_on=on) for on in order}
        for on, values in this_round.items():
            samples[on].extend(wall for wall, _, _ in values)
            cpu[on].extend(used for _, used, _ in values)
        inside.extend(spent for _, _, spent in this_round[True])
        round_deltas.append(
            statistics.median(wall for wall, _, _ in this_round[True])
            - statistics.median(wall for wall, _, _ in this_round[False])
        )
    off_p50, on_p50 = statistics.median(samples[False]), statistics.median(samples[True])
    return {
        "case": case.name,
        "calls_per_mode": len(samples[True]),
        "off_p50_ms": off_p50,
        "on_p50_ms": on_p50,
        "off_p90_ms": percentile(samples[False], 0.9),
        "on_p90_ms": percentile(samples[True], 0.9),
        "added_p50_ms": on_p50 - off_p50,
        "added_p50_median_of_rounds_ms": statistics.median(round_deltas),
        "outbox_code_p50_ms": statistics.median(inside),
        "off_cpu_mean_ms": statistics.mean(cpu[False]),
        "on_cpu_mean_ms": statistics.mean(cpu[True]),
        "statements_off": statements(case, events_on=False),
        "statements_on": statements(case, events_on=True),
        "target_ms": TARGET_MS,
        "met": on_p50 - off_p50 <= TARGET_MS,
    }


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    prepare_database(args)
    setup_django(args.database_url)
    _instrument()
    if args.synchronous_commit == "off":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
    load_before = uptime()
    started = datetime.now(UTC)
    results = [measure(case, args) for case in cases()]
    load_after = uptime()
    report = {
        "benchmark": "outbox_cost",
        "started": started.isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs), Python {platform.python_version()}",
        "postgres": postgres_version(args.database_url),
        "rounds": args.rounds,
        "calls": args.calls,
        "synchronous_commit": args.synchronous_commit,
        "uptime_before": load_before,
        "uptime_after": load_after,
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nbefore: {load_before}\nafter:  {load_after}")
    print(
        f"{'case':14s} {'off p50':>8s} {'on p50':>8s} {'added':>7s} {'rounds':>7s} "
        f"{'off p90':>8s} {'on p90':>8s} {'cpu off':>8s} {'cpu on':>8s} {'outbox':>7s} "
        f"{'stmts':>7s}  target <= {TARGET_MS:g} ms"
    )
    for r in results:
        print(
            f"{r['case']:14s} {r['off_p50_ms']:8.3f} {r['on_p50_ms']:8.3f} "
            f"{r['added_p50_ms']:7.3f} {r['added_p50_median_of_rounds_ms']:7.3f} "
            f"{r['off_p90_ms']:8.3f} {r['on_p90_ms']:8.3f} "
            f"{r['off_cpu_mean_ms']:8.3f} {r['on_cpu_mean_ms']:8.3f} "
            f"{r['outbox_code_p50_ms']:7.3f} "
            f"{r['statements_off']:>3d}/{r['statements_on']:<3d}  "
            f"{'met' if r['met'] else 'NOT met'}"
        )
    print(
        "(ms; 'added': on p50 - off p50; 'rounds': the median of each round's p50 "
        f"difference; cpu: this process's mean CPU per call; outbox: p50 of the time inside "
        f"emit(), events on) -> {args.output}"
    )


if __name__ == "__main__":
    main()
