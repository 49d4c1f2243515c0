"""Webhook delivery: deliveries per second, and the time from commit to delivery.

``nox -s bench -- --webhooks [options]``, or in a virtualenv with nexus_shop installed::

    python benchmarks/webhooks.py [--events 4000] [--workers 1 4] [--latency-samples 200]

It

1. creates a scratch PostgreSQL database (``nexus_bench_webhooks``; dropped and re-created
   each run) and migrates it;
2. starts a local receiver: a raw ASGI app (``benchproject/webhook_receiver.py``) under
   uvicorn, which answers 204 and notes when each ``webhook-id`` arrived;
3. **throughput**, for each worker count: commits ``--events`` events (two per product,
   so ordering is in play) for one endpoint, starts that many
   ``manage.py nexus_shop_deliver_webhooks`` processes (``--batch``, ``--concurrency``),
   waits until every delivery has succeeded, and divides the deliveries by the time from
   the first attempt to the last (the attempts' own timestamps, so process start-up is not
   counted). Fan-out, claims, signing, the POSTs and the bulk writes are all inside;
4. **latency**, with one idle worker (the command's default ``--idle-sleep``, or the
   benchmark's ``--idle-sleep``): commits one
   event at a time at random moments and measures from the commit's return to the
   receiver's arrival time (both ``time.time()`` on this machine); p50, p90, p99, max;
5. writes ``benchmarks/results/webhooks.json`` and ``webhooks.md`` with the load average.

The receiver, PostgreSQL and the workers share the machine: the figures are a floor.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # run.py is a sibling script, not a package
    django_env,
    postgres_version,
    recreate_database,
    uptime,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_bench_webhooks"


def bench_env(database_url: str) -> dict[str, str]:
    return django_env(database_url, BENCH_WEBHOOKS="1", BENCH_ONLY="nexus")


@contextmanager
def receiver() -> Iterator[int]:
    """uvicorn serving the receiver on a socket this process bound (its port never free)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port: int = listener.getsockname()[1]
    command = [
        sys.executable, "-m", "uvicorn", "benchproject.webhook_receiver:app",
        "--fd", str(listener.fileno()), "--no-access-log", "--log-level", "warning",
        "--lifespan", "off",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    process = subprocess.Popen(command, env=env, pass_fds=(listener.fileno(),))
    listener.close()
    try:
        deadline = time.monotonic() + 30
        while get(port, "/count") is None:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("the receiver did not start")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def get(port: int, path: str) -> Any:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        connection.close()
    except OSError:
        return None
    return json.loads(body) if response.status == 200 else None


@contextmanager
def workers(database_url: str, count: int, *extra: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    command = [sys.executable, "-m", "django", "nexus_shop_deliver_webhooks", *extra]
    with ExitStack() as stack:
        processes = []
        for _ in range(count):
            process = subprocess.Popen(
                command, env=bench_env(database_url), stdout=subprocess.DEVNULL
            )
            stack.callback(_stop, process)
            processes.append(process)
        yield processes


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def setup_django(database_url: str) -> None:
    os.environ.update(bench_env(database_url))
    sys.path[:0] = [p for p in os.environ["PYTHONPATH"].split(os.pathsep) if p]
    import django

    django.setup()


def reset(url: str) -> Any:
    """An empty outbox and one endpoint for every event type, at ``url``."""
    from nexus_shop.models.events import Event, EventStream, WebhookDelivery, WebhookEndpoint
    from nexus_shop.services.webhooks.signing import new_secret

    WebhookDelivery.objects.all().delete()
    Event.objects.all().delete()
    EventStream.objects.all().delete()
    WebhookEndpoint.objects.all().delete()
    return WebhookEndpoint.objects.create(url=url, events=["*"], secret=new_secret())


def emit(count: int, *, per_resource: int, offset: int = 0, chunk: int = 200) -> list[int]:
    """``count`` committed events, ``per_resource`` per product, ``chunk`` per transaction."""
    from django.db import transaction

    from nexus_shop.services import events

    ids: list[int] = []
    for start in range(0, count, chunk):
        with transaction.atomic():
            for n in range(start, min(count, start + chunk)):
                resource = offset + n // per_resource
                payload = {"id": resource, "name": f"Product {resource}", "price": "19.90"}
                event = events.emit(type="product.updated", resource_id=resource, data=payload)
                assert event is not None
                ids.append(event.pk)
    return ids


def throughput(
    database_url: str, port: int, *, count: int, events: int, batch: int, concurrency: int
) -> dict[str, Any]:
    from django.db.models import Max, Min

    from nexus_shop.models.events import DeliveryStatus, WebhookAttempt, WebhookDelivery

    reset(f"http://127.0.0.1:{port}/hook")
    emit(events, per_resource=2)
    options = ("--batch", str(batch), "--concurrency", str(concurrency), "--idle-sleep", "0.2")
    started = time.monotonic()
    with workers(database_url, count, *options):
        while True:
            done = WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
            if done == events:
                break
            if time.monotonic() - started > 600:
                sys.exit(f"only {done} of {events} delivered after 600 s")
            time.sleep(0.2)
    span = WebhookAttempt.objects.aggregate(first=Min("at"), last=Max("at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    attempts = WebhookAttempt.objects.count()
    result = {
        "workers": count,
        "events": events,
        "attempts": attempts,
        "seconds": round(seconds, 2),
        "deliveries_per_s": round(events / seconds, 1),
    }
    print(f"  {count} worker(s): {result['deliveries_per_s']} deliveries/s", flush=True)
    return result


def latency(
    database_url: str, port: int, *, samples: int, idle_sleep: float | None
) -> dict[str, Any]:
    reset(f"http://127.0.0.1:{port}/hook")
    offset = 10_000_000  # products of their own: no event waits for another
    measured: list[float] = []
    options = () if idle_sleep is None else ("--idle-sleep", str(idle_sleep))
    with workers(database_url, 1, *options):
        time.sleep(3)  # the worker is up and idle
        for n in range(samples):
            time.sleep(random.uniform(0.05, 0.6))  # noqa: S311  (a random moment, not a secret)
            [event_id] = emit(1, per_resource=1, offset=offset + n)
            committed = time.time()
            deadline = time.monotonic() + 30
            while (arrived := get(port, f"/arrival?id=evt_{event_id}")) is None:
                if time.monotonic() > deadline:
                    sys.exit(f"evt_{event_id} did not arrive within 30 s")
                time.sleep(0.002)
            measured.append(max(0.0, arrived - committed))
    measured.sort()

    def pct(p: float) -> float:
        return round(measured[min(len(measured) - 1, int(p * len(measured)))] * 1000, 1)

    result = {
        "samples": samples,
        "idle_sleep": idle_sleep,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(measured[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(measured) * 1000, 1),
    }
    print(f"  commit to delivery: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms", flush=True)
    return result


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Webhook delivery benchmark",
        "",
        f"{report['date']}, `{report['uptime']}` before the run, PostgreSQL "
        f"{report['postgres']}, Python {report['python']}, {report['cpus']} CPUs.",
        "",
        f"Throughput: {report['events']} events (two per product), one endpoint, "
        f"`--batch {report['batch']} --concurrency {report['concurrency']}` per worker.",
        "",
        "| workers | deliveries/s | seconds | attempts |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {row['workers']} | {row['deliveries_per_s']} | {row['seconds']} | {row['attempts']} |"
        for row in report["throughput"]
    ]
    lat = report["latency"]
    lines += [
        "",
        f"Commit to delivery, one idle worker (`--idle-sleep "
        f"{lat.get('idle_sleep') or 'default'}`), {lat['samples']} events:",
        "",
        "| p50 | p90 | p99 | max |",
        "|---:|---:|---:|---:|",
        f"| {lat['p50_ms']} ms | {lat['p90_ms']} ms | {lat['p99_ms']} ms | {lat['max_ms']} ms |",
        "",
        f"Load after the run: `{report['uptime_after']}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument(
        "--idle-sleep",
        type=float,
        default=None,
        help="The latency worker's --idle-sleep (default: the command's own default).",
    )
    parser.add_argument("--output", default=str(RESULTS / "webhooks"))
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "uptime": uptime(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "events": args.events,
        "batch": args.batch,
        "concurrency": args.concurrency,
    }
    print(f"webhooks benchmark: {report['uptime']}", flush=True)
    recreate_database(args.database_url)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=bench_env(args.database_url),
        check=True,
    )
    report["postgres"] = postgres_version(args.database_url)
    setup_django(args.database_url)
    with receiver() as port:
        report["throughput"] = [
            throughput(
                args.database_url,
                port,
                count=count,
                events=args.events,
                batch=args.batch,
                concurrency=args.concurrency,
            )
            for count in args.workers
        ]
        report["latency"] = latency(
            args.database_url, port, samples=args.latency_samples, idle_sleep=args.idle_sleep
        )
    report["uptime_after"] = uptime()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    output.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
