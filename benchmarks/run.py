"""HTTP load benchmark: nexus_shop in each serving mode, against DRF, with the ceilings.

``nox -s bench`` runs this file; ``nox -s bench -- --help`` lists the options. In one run it

1. creates a scratch PostgreSQL database (``nexus_bench``), migrates it and seeds it with
   ``nexus_shop_seed`` (100,000 products in 40 categories, seed 1);
2. starts one single-worker server per *stack*, all at once:

   - nexus_shop under granian (WSGI, the example project's default), gunicorn (WSGI,
     ``gthread``) and uvicorn (ASGI), each with the response cache off ("cold") and on
     ("hot", Redis + cachalot, as the example project ships);
   - the DRF baseline (``drf_baseline/``) under gunicorn (WSGI, sync worker, as DRF users
     usually deploy it) and under uvicorn (ASGI);
   - the ceilings: a raw ASGI app under uvicorn and under granian, and a Django view
     returning ``{"ok": true}`` (``/hello``) in the nexus_shop and DRF servers;

3. runs ``wrk --latency`` on every case (product detail, list page 1, category filter +
   price ordering, search ``q``, and for the hot stacks ``If-None-Match`` revalidations
   answered 304) at 1, 16, 32 and 64 connections, ``--rounds`` times with the stacks taking
   turns, and keeps the medians;
4. measures stale reads: two single-worker servers with the response cache on, 1,000
   trials of "PATCH on one, then GET the detail and the list on the other";
5. writes ``benchmarks/results/performance.json``, ``docs/performance.md`` (tables, the
   issue's targets marked met or missed) and ``docs/performance.png`` (matplotlib).

Every server loads ``benchproject`` (the example project's middleware chain in front of
both frameworks). The load average before and after the run is recorded: the figures of a
shared machine are only comparable within one run.

``--depth`` runs the pagination-depth benchmark instead (``benchmarks/pagination_depth.py``)
and ``--scale`` the scale benchmark (``benchmarks/scale.py``), each with the other options.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DOCS = ROOT / "docs"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"


# Environment --------------------------------------------------------------------------------


def python_path() -> str:
    """benchmarks/ (benchproject, drf_baseline), plus src/ when nexus_shop is not installed."""
    parts = [str(HERE)]
    try:
        import nexus_shop  # noqa: F401  (only asking whether it is installed)
    except ImportError:
        parts.append(str(ROOT / "src"))
    return os.pathsep.join(parts)


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": python_path(),
            "DJANGO_SETTINGS_MODULE": "benchproject.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": "",
            "BENCH_ONLY": "",
        }
    )
    env.update(extra)
    return env


def ensure_wrk() -> str:
    """wrk is a Debian package; install it when it is missing (the benchmark runs as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get", flush=True)
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], env=apt_env, check=False).returncode:
        subprocess.run(["apt-get", "update"], env=apt_env, check=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], env=apt_env, check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is still missing after apt-get install")
    return found


def recreate_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"nexus_bench\w*", name):
        sys.exit(f"refusing to drop {name!r}: benchmark databases are named nexus_bench*")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(database_url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", *args], env=django_env(database_url), check=True
    )


def has_command(database_url: str, name: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "django", "help", name],
        env=django_env(database_url),
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def seed(database_url: str, *, products: int, categories: int, seed_value: int) -> None:
    if not has_command(database_url, "nexus_shop_seed"):
        sys.exit("the nexus_shop_seed management command is missing")
    manage(
        database_url,
        "nexus_shop_seed",
        "--products",
        str(products),
        "--categories",
        str(categories),
        "--seed",
        str(seed_value),
    )
    import psycopg

    with psycopg.connect(pg_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def add_catalogue_arguments(parser: argparse.ArgumentParser) -> None:
    """The options :func:`fresh_catalogue` reads, and the Redis to use."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="scratch database, dropped and re-created (name must start with nexus_bench)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--categories", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse-database", action="store_true", help="skip create + seed")


def fresh_catalogue(args: argparse.Namespace) -> None:
    """Re-create, migrate and seed ``--database-url``, unless ``--reuse-database``."""
    if args.reuse_database:
        return
    print(f"creating and seeding {args.database_url}", flush=True)
    recreate_database(args.database_url)
    manage(args.database_url, "migrate", "--noinput", "-v", "0")
    seed(
        args.database_url,
        products=args.products,
        categories=args.categories,
        seed_value=args.seed,
    )


def pg_url(database_url: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(scheme="postgresql"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Stacks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    key: str
    label: str
    framework: str  # "nexus" | "drf" | "raw"
    server: str  # see server_command()
    hot: bool = False  # nexus_shop's response cache on (Redis + cachalot)
    primary: bool = False  # measured at every --connections (others at --secondary-connections)


STACKS = [
    Stack("nexus-granian", "nexus_shop, granian WSGI", "nexus", "granian-wsgi", primary=True),
    Stack("nexus-granian-hot", "nexus_shop, granian WSGI, cache", "nexus", "granian-wsgi",
          hot=True, primary=True),
    Stack("nexus-gunicorn", "nexus_shop, gunicorn gthread", "nexus", "gunicorn-gthread"),
    Stack("nexus-gunicorn-hot", "nexus_shop, gunicorn gthread, cache", "nexus",
          "gunicorn-gthread", hot=True),
    Stack("nexus-uvicorn", "nexus_shop, uvicorn ASGI", "nexus", "uvicorn-asgi"),
    Stack("nexus-uvicorn-hot", "nexus_shop, uvicorn ASGI, cache", "nexus", "uvicorn-asgi",
          hot=True),
    Stack("drf-gunicorn", "DRF, gunicorn sync", "drf", "gunicorn-sync", primary=True),
    Stack("drf-uvicorn", "DRF, uvicorn ASGI", "drf", "uvicorn-asgi", primary=True),
    Stack("raw-uvicorn", "raw ASGI, uvicorn", "raw", "uvicorn-raw"),
    Stack("raw-granian", "raw ASGI, granian", "raw", "granian-raw"),
]  # fmt: skip
PRIMARY_NEXUS = "nexus-granian"  # the example project's serving mode: the targets use it

CASES = {
    "detail": "product detail",
    "list": "list, page 1",
    "category": "category + price ordering",
    "search": "search q",
    "304-detail": "304, product detail",
    "304-list": "304, list page 1",
    "hello": "hello (ceiling)",
}


def server_command(server: str, port: int) -> list[str]:
    python = sys.executable
    where = ["--host", "127.0.0.1", "--port", str(port)]
    granian = [python, "-m", "granian", "--workers", "1", "--no-ws", "--log-level", "warning"]
    gunicorn = [python, "-m", "gunicorn", "benchproject.wsgi:application", "--workers", "1"]
    gunicorn += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    uvicorn = [python, "-m", "uvicorn", *where, "--workers", "1", "--no-access-log"]
    uvicorn += ["--log-level", "warning"]
    commands = {
        "granian-wsgi": [*granian, "--interface", "wsgi", "benchproject.wsgi:application", *where],
        "granian-raw": [*granian, "--interface", "asgi", "benchproject.raw:app", *where],
        "gunicorn-gthread": [*gunicorn, "--worker-class", "gthread", "--threads", "4"],
        "gunicorn-sync": [*gunicorn, "--worker-class", "sync"],
        "uvicorn-asgi": [*uvicorn, "benchproject.asgi:application"],
        "uvicorn-raw": [*uvicorn, "benchproject.raw:app"],
    }
    return commands[server]


@dataclass
class Server:
    stack: Stack
    process: subprocess.Popen[bytes]
    base: str
    urls: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # case -> If-None-Match

    def memory(self) -> dict[str, int]:
        """VmHWM (peak resident set) and VmRSS of the worker, in KiB (the biggest process)."""
        values: dict[str, int] = {}
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                for key, value in re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M):
                    values[key] = max(values.get(key, 0), int(value))
        return values

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server's processes (its workers included).

        Per request, this is less sensitive to a neighbour than requests per second: a busy
        machine delays a request but does not make it cost more cycles (not much: caches).
        """
        ticks = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                # Fields after the parenthesised command name: utime and stime are 14 and 15.
                fields = stat.rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in children:
                found += [int(child), *_children(int(child))]
    return found


def stack_env(stack: Stack, args: argparse.Namespace, prefix: str) -> dict[str, str]:
    extra = {"BENCH_ONLY": stack.framework if stack.framework != "raw" else "nexus"}
    if stack.hot:
        extra |= {"REDIS_URL": args.redis_url, "BENCH_RESPONSE_CACHE": "1"}
        extra["BENCH_CACHE_PREFIX"] = f"{prefix}-{stack.key}"
    return django_env(args.database_url, **extra)


@contextlib.contextmanager
def serve(stack: Stack, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen(
        server_command(stack.server, port),
        env=env,
        cwd=HERE,
        start_new_session=True,
    )
    server = Server(stack, process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                sys.exit(f"{stack.label}: the server exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"{stack.label}: the server did not start within 60 s")
                time.sleep(0.1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310  (loopback)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:  # 304 and the like
        return error.code, dict(error.headers.items()), error.read()


# Cases ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    product_id: int
    category: str
    word: str


def catalogue_facts(database_url: str) -> Catalogue:
    """A public product, the biggest top-level category, and a common word to search for."""
    import psycopg

    with psycopg.connect(pg_url(database_url)) as conn:
        product = conn.execute(
            "SELECT id FROM nexus_shop_product WHERE is_active AND deleted_at IS NULL "
            "ORDER BY created_at DESC, id DESC LIMIT 1"
        ).fetchone()
        category = conn.execute(
            """
            SELECT root.slug
            FROM nexus_shop_category root
            JOIN nexus_shop_category c ON c.path LIKE root.path || '%'
            JOIN nexus_shop_product p ON p.category_id = c.id
            WHERE root.parent_id IS NULL AND p.deleted_at IS NULL AND p.is_active
            GROUP BY root.slug ORDER BY count(*) DESC, root.slug LIMIT 1
            """
        ).fetchone()
        name = conn.execute(
            "SELECT name FROM nexus_shop_product WHERE is_active AND deleted_at IS NULL "
            "ORDER BY id LIMIT 1"
        ).fetchone()
    if product is None or category is None or name is None:
        raise SystemExit("the seeded database has no public, categorised products")
    # The seeded names are "<Brand> <Adjective> <Noun>...": the last word is a product noun.
    word = re.findall(r"[A-Za-z]{4,}", name[0])[-1].lower()
    return Catalogue(product_id=product[0], category=category[0], word=word)


def prepare(server: Server, facts: Catalogue) -> None:
    """The server's URL per case, each checked once (status, 20 items) before any load."""
    stack = server.stack
    if stack.framework == "raw":
        server.urls = {"hello": f"{server.base}/"}
    else:
        prefix = f"{server.base}{'/api' if stack.framework == 'nexus' else '/drf'}"

        def url(path: str, **params: Any) -> str:
            return f"{prefix}{path}?{urlencode(params)}" if params else f"{prefix}{path}"

        server.urls = {
            "detail": url(f"/products/{facts.product_id}"),
            "list": url("/products", page_size=20),
            "category": url("/products", category=facts.category, ordering="price", page_size=20),
            "search": url("/products", q=facts.word, page_size=20),
        }
        if not stack.hot:
            server.urls["hello"] = f"{server.base}/hello"
    for case, target in list(server.urls.items()):
        status, headers, body = fetch(target)
        if status != 200:
            raise SystemExit(f"{stack.label} {case}: {target} answered {status}: {body[:200]!r}")
        if case in {"list", "category", "search"} and len(json.loads(body)["items"]) != 20:
            raise SystemExit(f"{stack.label} {case}: fewer than 20 items at {target}")
        if stack.hot and case in {"detail", "list"}:
            etag = {k.lower(): v for k, v in headers.items()}.get("etag")
            if not etag:
                raise SystemExit(f"{stack.label} {case}: no ETag")
            status, _, _ = fetch(target, {"If-None-Match": etag})
            if status != 304:
                raise SystemExit(f"{stack.label} {case}: If-None-Match answered {status}")
            server.urls[f"304-{case}"] = target
            server.headers[f"304-{case}"] = etag


# wrk ------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"cannot read the latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    wrk: str,
    url: str,
    *,
    duration: str,
    connections: int,
    threads: int,
    header: str | None = None,
) -> dict[str, Any]:
    command = [wrk, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}"]
    command += ["--latency", "--timeout", "10s"]
    if header:
        command += ["-H", header]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and total):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    # No request finished within --timeout (e.g. a slow search at 64 connections): no
    # latency distribution; the timeouts are counted as errors.
    return {
        "requests_per_second": float(rps.group(1)),
        "p50_ms": _ms(p50.group(1)) if p50 and int(total.group(1)) else None,
        "p99_ms": _ms(p99.group(1)) if p99 and int(total.group(1)) else None,
        "requests": int(total.group(1)),
        "errors": errors,
    }


@dataclass
class Result:
    stack: str
    label: str
    case: str
    connections: int
    url: str
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    errors: int
    rounds: list[float]


def levels_of(stack: Stack, case: str, args: argparse.Namespace) -> list[int]:
    """The connection levels of one stack and case.

    The ceilings (``hello``) are measured at the secondary levels only, and search at
    ``--search-connections``: a cold search is a scan that takes up to seconds, and dozens
    of them queued behind each other would cost minutes per point.
    """
    if case == "hello":
        return args.secondary_connections
    if case == "search":
        return args.search_connections
    return args.connections if stack.primary else args.secondary_connections


def drain(server: Server, database_url: str) -> None:
    """Wait until the server has finished what the last wrk run left queued.

    wrk closes its connections when its time is up, but a server may still hold requests
    it accepted (a gunicorn sync worker's backlog, a thread pool's queue) and PostgreSQL
    may still run their queries. Wait until the database has no active query from the
    benchmark's database for half a second and the server answers a cheap request.
    """
    import psycopg

    deadline = time.monotonic() + 120
    with psycopg.connect(pg_url(database_url), autocommit=True) as conn:
        quiet = 0
        while quiet < 5 and time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchone()
            quiet = quiet + 1 if row and row[0] == 0 else 0
            time.sleep(0.1)
    probe = f"{server.base}/" if server.stack.framework == "raw" else f"{server.base}/hello"
    with contextlib.suppress(OSError):
        fetch(probe)


def load(wrk: str, servers: list[Server], args: argparse.Namespace) -> list[Result]:
    """Each (case, connections) point: every stack that has it, taking turns, ``--rounds``."""
    levels = sorted(
        set(args.connections) | set(args.secondary_connections) | set(args.search_connections)
    )
    results: list[Result] = []
    for case in CASES:  # noqa: PLC0206  (CASES' order is the report's; its values are labels)
        having = [s for s in servers if case in s.urls]
        for server in having:  # warm-up: imports, pools, the cache's first fill
            run_wrk(wrk, server.urls[case], duration=args.warmup, connections=16,
                    threads=args.threads, header=_header(server, case))  # fmt: skip
            drain(server, args.database_url)
        for connections in levels:
            stacks = [s for s in having if connections in levels_of(s.stack, case, args)]
            runs: dict[str, list[dict[str, Any]]] = {s.stack.key: [] for s in stacks}
            for _ in range(args.rounds):
                for server in stacks:
                    runs[server.stack.key].append(
                        run_wrk(
                            wrk,
                            server.urls[case],
                            duration=args.duration,
                            connections=connections,
                            threads=args.threads,
                            header=_header(server, case),
                        )
                    )
                    drain(server, args.database_url)
            for server in stacks:
                figures = runs[server.stack.key]
                result = Result(
                    stack=server.stack.key,
                    label=server.stack.label,
                    case=case,
                    connections=connections,
                    url=server.urls[case],
                    requests_per_second=statistics.median(
                        f["requests_per_second"] for f in figures
                    ),
                    p50_ms=_median([f["p50_ms"] for f in figures]),
                    p99_ms=_median([f["p99_ms"] for f in figures]),
                    requests=sum(f["requests"] for f in figures),
                    errors=sum(f["errors"] for f in figures),
                    rounds=[f["requests_per_second"] for f in figures],
                )
                print(
                    f"  {server.stack.label:38} {CASES[case]:26} c{connections:<3}"
                    f"{result.requests_per_second:10.1f} req/s  p50 {_ms_cell(result.p50_ms):>8} ms"
                    f"  p99 {_ms_cell(result.p99_ms):>8} ms  errors {result.errors}",
                    flush=True,
                )
                results.append(result)
    return results


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _ms_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _header(server: Server, case: str) -> str | None:
    etag = server.headers.get(case)
    return f"If-None-Match: {etag}" if etag else None


# Stale reads ----------------------------------------------------------------------------------

MINT_STAFF_JWT = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from nexus_shop.tokens import RefreshToken
user, _ = get_user_model().objects.get_or_create(username="bench-staff")
user.user_permissions.set(Permission.objects.filter(content_type__app_label="nexus_shop"))
print(RefreshToken.for_user(user).access_token)
"""


def stale_reads(args: argparse.Namespace, facts: Catalogue, prefix: str) -> dict[str, Any]:
    """Write on one worker, read on the other at once, ``--stale-trials`` times.

    Two single-worker granian servers with the response cache on share PostgreSQL and
    Redis. Each trial PATCHes the product's price through one and reads the product's
    detail and the list page showing it through the other (writer and reader swap every
    trial): a read showing any other price is stale.
    """
    stack = next(s for s in STACKS if s.key == "nexus-granian-hot")
    env = stack_env(stack, args, f"{prefix}-stale")
    token = (
        subprocess.run(
            [sys.executable, "-m", "django", "shell", "-c", MINT_STAFF_JWT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with serve(stack, env) as first, serve(stack, env) as second:
        connections = [_connection(first), _connection(second)]
        detail = f"/api/products/{facts.product_id}"
        listing = "/api/products?page_size=20"
        for conn in connections:  # fill both workers' view of the cache
            _request(conn, "GET", detail)
            _request(conn, "GET", listing)
        stale = errors = 0
        started = time.perf_counter()
        for trial in range(args.stale_trials):
            writer, reader = connections[trial % 2], connections[1 - trial % 2]
            price = f"{Decimal(1000 + trial) / 100:.2f}"
            status, _ = _request(
                writer, "PATCH", detail, {"price": price}, {"Authorization": f"Bearer {token}"}
            )
            if status != 200:
                errors += 1
                continue
            status, body = _request(reader, "GET", detail)
            status_list, page = _request(reader, "GET", listing)
            if status >= 500 or status_list >= 500:
                errors += 1
            shown = [i["price"] for i in page.get("items", []) if i["id"] == facts.product_id]
            if body.get("price") != price or shown != [price]:
                stale += 1
        elapsed = time.perf_counter() - started
    return {
        "trials": args.stale_trials,
        "stale": stale,
        "errors": errors,
        "seconds": round(elapsed, 1),
        "servers": "2 granian WSGI workers (one process each), response cache on",
    }


def _connection(server: Server) -> http.client.HTTPConnection:
    parts = urlsplit(server.base)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)


def _request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    payload = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, body=payload, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else {}


# Report ---------------------------------------------------------------------------------------


def _find(
    results: list[dict[str, Any]], stack: str, case: str, conns: int
) -> dict[str, Any] | None:
    for r in results:
        if r["stack"] == stack and r["case"] == case and r["connections"] == conns:
            return r
    return None


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 7's targets, each with the figures behind it and met or missed."""
    results = report["results"]
    c = report["target_connections"]
    hot, cold = f"{PRIMARY_NEXUS}-hot", PRIMARY_NEXUS

    def rps(stack: str, case: str, conns: int = c) -> float | None:
        found = _find(results, stack, case, conns)
        return found["requests_per_second"] if found else None

    def drf_best(case: str) -> tuple[str | None, float | None]:
        """DRF as its users deploy it: whichever of gunicorn or uvicorn gives it more."""
        figures = [(s, rps(s, case)) for s in ("drf-gunicorn", "drf-uvicorn")]
        known = [(s, v) for s, v in figures if v is not None]
        return max(known, key=lambda sv: sv[1]) if known else (None, None)

    rows: list[dict[str, Any]] = []

    def row(measure: str, target: str, measured: str, met: bool | None) -> None:
        rows.append({"measure": measure, "target": target, "measured": measured, "met": met})

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    raw = max((v for v in (rps("raw-uvicorn", "hello"), rps("raw-granian", "hello")) if v),
              default=None)  # fmt: skip
    drf_list_stack, drf_list = drf_best("list")
    drf_detail_stack, drf_detail = drf_best("detail")
    hot_list, hot_detail = rps(hot, "list"), rps(hot, "detail")

    r = ratio(hot_list, drf_list)
    share = ratio(hot_list, raw)
    row("hot product list, 20 items", ">= 20x DRF's list, and >= 10% of the raw ASGI hello",
        f"{_n(hot_list)} req/s = {_x(r)} DRF ({_n(drf_list)}, {drf_list_stack}); "
        f"{_pct(share)} of the raw ASGI hello ({_n(raw)})",
        None if r is None or share is None else r >= 20 and share >= 0.10)  # fmt: skip
    r = ratio(hot_detail, drf_detail)
    row("hot product detail", ">= 10x DRF's detail",
        f"{_n(hot_detail)} req/s = {_x(r)} DRF ({_n(drf_detail)}, {drf_detail_stack})",
        None if r is None else r >= 10)  # fmt: skip
    for case, hot_case in (("304-list", "list"), ("304-detail", "detail")):
        figure, reference = rps(hot, case), rps(hot, hot_case)
        row(f"304 revalidation, {CASES[hot_case]}", ">= the hot figure",
            f"{_n(figure)} req/s against {_n(reference)} hot",
            None if figure is None or reference is None else figure >= reference)  # fmt: skip
    for case in ("list", "detail"):
        drf_stack, drf = drf_best(case)
        mine = rps(cold, case)
        r = ratio(mine, drf)
        row(f"uncached {CASES[case]}", ">= 2x DRF",
            f"{_n(mine)} req/s = {_x(r)} DRF ({_n(drf)}, {drf_stack})",
            None if r is None else r >= 2)  # fmt: skip
    stale = report.get("stale")
    if stale:
        row("a write then a read, 2 workers", "0 stale reads",
            f"{stale['stale']} stale in {stale['trials']:,} trials ({stale['errors']} errors)",
            stale["stale"] == 0 and stale["errors"] == 0)  # fmt: skip
    for case in ("list", "detail"):
        mine = _find(results, hot, case, 64)
        drf_stack, _ = drf_best(case)
        drf = _find(results, drf_stack, case, 64) if drf_stack else None
        if mine and drf and mine["p99_ms"] is not None:
            # DRF without a p99 finished nothing in wrk's timeout: it is worse than any figure.
            r = mine["p99_ms"] / drf["p99_ms"] if drf["p99_ms"] else None
            row(f"p99 at 64 connections, hot {CASES[case]}", "<= 1/5 of DRF's",
                f"{mine['p99_ms']:.1f} ms against {_ms_cell(drf['p99_ms'])} ms ({drf_stack}): "
                f"{_x(r)}", r <= 0.2 if r is not None else drf["p99_ms"] is None)  # fmt: skip
        else:
            row(f"p99 at 64 connections, hot {CASES[case]}", "<= 1/5 of DRF's", "not measured",
                None)  # fmt: skip
    return rows


def _levels_text(report: dict[str, Any], key: str) -> str:
    return ", ".join(str(n) for n in report["levels"][key])


def _n(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**missed**", None: "not measured"}[met]


BEGIN = "<!-- BEGIN generated by benchmarks/run.py: edits inside are overwritten -->"
END = "<!-- END generated by benchmarks/run.py -->"
CHECKOUT_STUB = """
## Checkout (purchase path)

The checkout benchmark of the purchase path is added here by its own script; `run.py`
keeps everything below its generated block as it is.
"""


def performance_markdown(report: dict[str, Any], plot: str | None) -> str:
    m = report["machine"]
    c = report["target_connections"]
    lines = [
        BEGIN,
        "",
        "# Performance",
        "",
        f"Generated by `{report['command']}` on {report['started_at']} "
        f"({report['duration_s'] / 60:.1f} minutes). Machine: {m['cpus']} CPUs shared with "
        "other work; the server, wrk and PostgreSQL compete for them, so compare figures "
        "within this page, not across machines. Load (`uptime`) before the run: "
        f"`{m['uptime_before']}`; after: `{m['uptime_after']}`.",
        "",
        f"{report['catalogue']['products']:,} products on PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}, {m['versions']}. One worker process per stack. wrk "
        f"{report['wrk']}. Anonymous requests. Medians of {report['rounds']} rounds, the "
        "stacks taking turns.",
        "",
        "## Targets (issue 7)",
        "",
        f"At {c} connections unless stated; nexus_shop in the example project's serving mode "
        f"(granian WSGI); DRF as its users deploy it, without a response cache, in whichever "
        f"of gunicorn or uvicorn gives it more for that case.",
        "",
        "| measure | target | measured | |",
        "|---|---|---|---|",
    ]
    for t in report["targets"]:
        lines.append(f"| {t['measure']} | {t['target']} | {t['measured']} | {_verdict(t['met'])} |")
    lines += ["", "## Serving modes", "", f"Requests/s at {c} connections.", ""]
    cases = [k for k in CASES if any(r["case"] == k for r in report["results"])]
    columns = [k for k in cases if any(r["case"] == k and r["connections"] == c
                                       for r in report["results"])]  # fmt: skip
    lines.append("| stack | " + " | ".join(CASES[k] for k in columns) + " |")
    lines.append("|---|" + "---:|" * len(columns))
    for stack in STACKS:
        cells = []
        for case in columns:
            found = _find(report["results"], stack.key, case, c)
            cells.append(_n(found["requests_per_second"]) if found else "")
        if any(cells):
            lines.append(f"| {stack.label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        '"cache" is nexus_shop\'s response cache on (Redis, with cachalot): the same URL again '
        "and again, so every request after the first is a hit. The others have no cache at "
        "all. The hello column is a Django view through the same middleware chain (or, for "
        "the raw rows, an ASGI app with no framework).",
        "",
    ]
    if plot:
        lines += [f"![Requests/s at {c} connections, log scale]({plot})", ""]
    lines += [
        "## Every case",
        "",
        "Requests/s, and p50 / p99 latency in ms (`-` when no request finished within wrk's "
        f"10 s timeout). nexus_shop under granian and DRF at {_levels_text(report, 'connections')} "
        f"connections, the other stacks at {_levels_text(report, 'secondary_connections')}; "
        f"search at {_levels_text(report, 'search_connections')} (a cold search queues for "
        "seconds at more), the ceilings at "
        f"{_levels_text(report, 'secondary_connections')}. Before each run the previous one's "
        "queued requests are drained (no active query left, the server answers).",
        "",
    ]
    levels = sorted({r["connections"] for r in report["results"]})
    for case in cases:
        lines += [f"### {CASES[case]}", ""]
        lines.append("| stack | " + " | ".join(f"c={n}" for n in levels) + " |")
        lines.append("|---|" + "---:|" * len(levels))
        for stack in STACKS:
            cells = []
            for n in levels:
                found = _find(report["results"], stack.key, case, n)
                cells.append(
                    f"{found['requests_per_second']:,.0f} ({_ms_cell(found['p50_ms'])} / "
                    f"{_ms_cell(found['p99_ms'])})"
                    + (f", {found['errors']} errors" if found["errors"] else "")
                    if found
                    else ""
                )
            if any(cells):
                lines.append(f"| {stack.label} | " + " | ".join(cells) + " |")
        lines.append("")
    urls = {r["case"]: r["url"] for r in report["results"] if r["stack"] == PRIMARY_NEXUS}
    lines += ["URLs (nexus_shop; DRF's are the same under `/drf/`):", ""]
    for case, url in urls.items():
        parts = urlsplit(url)
        lines.append(f"- {CASES[case]}: `{parts.path}{'?' + parts.query if parts.query else ''}`")
    lines += [
        "",
        "The 304 cases send `If-None-Match` with the ETag of the hot answer. DRF's `q` is what "
        "its `SearchFilter` does (a case-insensitive substring match on name and "
        "description); nexus_shop's is PostgreSQL full-text search, so the search row "
        "compares two different queries.",
        "",
    ]
    stale = report.get("stale")
    if stale:
        lines += [
            "## Stale reads",
            "",
            f"{stale['servers']}. {stale['trials']:,} trials of: PATCH the price through one, "
            "then GET the product and the list page showing it through the other (the roles "
            f"swap every trial). Stale reads: **{stale['stale']}**; errors: {stale['errors']}; "
            f"{stale['seconds']} s.",
            "",
        ]
    memory = report.get("memory", {})
    if memory:
        lines += ["## Memory", "", "Peak resident set (VmHWM) of each server process:", ""]
        lines.append(", ".join(
            f"{label} {values.get('VmHWM', 0) / 1024:.0f} MiB" for label, values in memory.items()
        ))  # fmt: skip
        lines.append("")
    lines += [
        "## Reproduce",
        "",
        "```console",
        "$ nox -s bench                       # everything above: 19 minutes on 2 busy cores",
        "$ nox -s bench -- --help             # sizes, durations, connections, stacks",
        "$ nox -s bench -- --products 20000 --duration 1s --rounds 1 --stale-trials 100",
        "```",
        "",
        "Raw figures: `benchmarks/results/performance.json`. The in-process CPU measure "
        "(`benchmarks/cpu_per_request.py`) and the pagination-depth benchmark are in "
        "[Benchmarks](benchmarks.md).",
        "",
        END,
    ]
    return "\n".join(lines)


def write_performance_page(path: Path, text: str) -> None:
    """Replace the generated block, keep whatever others wrote around it."""
    before, after = "", "\n" + CHECKOUT_STUB
    if path.exists():
        old = path.read_text()
        if BEGIN in old and END in old:
            before = old[: old.index(BEGIN)]
            after = old[old.index(END) + len(END) :]
    path.write_text(before + text + after)


def plot(report: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing: no plot (it is in the bench dependency group)")
        return False
    c = report["target_connections"]
    cases = [k for k in CASES if k != "hello" and any(r["case"] == k for r in report["results"])]
    stacks = [s for s in STACKS if s.framework != "raw"]
    fig, ax = plt.subplots(figsize=(11, 5.5))
    width = 0.8 / len(stacks)
    for i, stack in enumerate(stacks):
        values = []
        for case in cases:
            found = _find(report["results"], stack.key, case, c)
            values.append(found["requests_per_second"] if found else 0)
        positions = [k + (i - len(stacks) / 2) * width + width / 2 for k in range(len(cases))]
        ax.bar(positions, values, width, label=stack.label)
    raw = [
        r["requests_per_second"]
        for r in report["results"]
        if r["case"] == "hello" and r["stack"].startswith("raw") and r["connections"] == c
    ]
    if raw:
        ax.axhline(max(raw), color="black", linestyle="--", linewidth=1, label="raw ASGI hello")
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)), [CASES[k] for k in cases], rotation=15)
    ax.set_ylabel(f"requests/s at {c} connections (log scale)")
    ax.set_title(f"nexus_shop vs DRF, {report['catalogue']['products']:,} products, 1 worker each")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# Main -----------------------------------------------------------------------------------------


def _levels(text: str) -> list[int]:
    return sorted({int(n) for n in text.split(",") if n.strip()})


def uptime() -> str:
    result = subprocess.run(["uptime"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "load average: " + ", ".join(
        f"{n:.2f}" for n in os.getloadavg()
    )


def versions() -> str:
    names = ["django", "django-ninja", "djangorestframework", "granian", "gunicorn", "uvicorn"]
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def postgres_version(database_url: str) -> str:
    import psycopg

    with psycopg.connect(pg_url(database_url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def dispatch(argv: list[str]) -> bool:
    """``--depth`` and ``--scale`` hand every other option to their own script."""
    for flag, module in (("--depth", "pagination_depth"), ("--scale", "scale")):
        if flag in argv:
            if not (HERE / f"{module}.py").exists():
                sys.exit(f"{flag}: benchmarks/{module}.py is missing")
            sys.path.insert(0, str(HERE))
            entry = __import__(module).main
            entry([arg for arg in argv if arg != flag])
            return True
    return False


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_catalogue_arguments(parser)
    parser.add_argument("--duration", default="2s", help="wrk -d per point and round")
    parser.add_argument("--warmup", default="1s", help="wrk -d of each warm-up")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per point (median kept)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument(
        "--connections", type=_levels, default=_levels("1,16,32,64"),
        help="wrk -c levels of the primary stacks (nexus_shop granian, DRF)",
    )  # fmt: skip
    parser.add_argument(
        "--secondary-connections", type=_levels, default=_levels("32"),
        help="wrk -c levels of the other stacks (other serving modes, ceilings)",
    )  # fmt: skip
    parser.add_argument(
        "--search-connections", type=_levels, default=_levels("1,16"),
        help="wrk -c levels of the search case, every stack",
    )  # fmt: skip
    parser.add_argument("--target-connections", type=int, default=32)
    parser.add_argument(
        "--stacks", default=",".join(s.key for s in STACKS), help="comma-separated stack keys"
    )
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case keys")
    parser.add_argument("--stale-trials", type=int, default=1000, help="0 skips them")
    parser.add_argument("--output", type=Path, default=RESULTS / "performance.json")
    parser.add_argument(
        "--docs", type=Path, default=DOCS / "performance.md", help="the page to (re)write"
    )
    parser.add_argument("--no-docs", action="store_true", help="write the JSON only")
    parser.add_argument("--depth", action="store_true", help="run pagination_depth.py instead")
    parser.add_argument("--scale", action="store_true", help="run scale.py instead")
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if dispatch(argv):
        return
    options = parser()
    args = options.parse_args(argv)
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    chosen = set(args.stacks.split(","))
    unknown = chosen - {s.key for s in STACKS}
    if unknown:
        options.error(f"unknown stacks: {sorted(unknown)}")
    cases = [c for c in args.cases.split(",") if c]
    if set(cases) - set(CASES):
        options.error(f"unknown cases: {sorted(set(cases) - set(CASES))}")

    wrk = ensure_wrk()
    started = datetime.now(UTC).replace(microsecond=0)
    clock = time.monotonic()
    before = uptime()
    print(f"uptime before: {before}", flush=True)
    fresh_catalogue(args)
    facts = catalogue_facts(args.database_url)
    prefix = f"nexus-bench-{uuid.uuid4().hex[:12]}"
    stacks = [s for s in STACKS if s.key in chosen]
    with contextlib.ExitStack() as running:
        servers = [running.enter_context(serve(s, stack_env(s, args, prefix))) for s in stacks]
        for server in servers:
            prepare(server, facts)
            server.urls = {k: v for k, v in server.urls.items() if k in cases}
        results = load(wrk, servers, args)
        memory = {server.stack.label: server.memory() for server in servers}
    stale = stale_reads(args, facts, prefix) if args.stale_trials > 0 else None
    if stale:
        print(f"stale reads: {stale}", flush=True)

    report = build_report(
        args, argv, wrk=wrk, started=started, clock=clock, before=before, results=results,
        memory=memory, stale=stale,
    )  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output}")
    if not args.no_docs:
        image = args.docs.with_suffix(".png")
        drawn = plot(report, image)
        page = performance_markdown(report, image.name if drawn else None)
        write_performance_page(args.docs, page)
        print(f"wrote {args.docs}" + (f" and {image}" if drawn else ""))
    for t in report["targets"]:
        print(f"  {_verdict(t['met']):14} {t['measure']}: {t['measured']}")


def build_report(
    args: argparse.Namespace,
    argv: list[str],
    *,
    wrk: str,
    started: datetime,
    clock: float,
    before: str,
    results: list[Result],
    memory: dict[str, dict[str, int]],
    stale: dict[str, Any] | None,
) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(pg_url(args.database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM nexus_shop_product").fetchone()
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    report: dict[str, Any] = {
        "started_at": started.isoformat(),
        "duration_s": round(time.monotonic() - clock),
        "command": " ".join(["nox -s bench --", *argv]) if argv else "nox -s bench",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgresql": postgres_version(args.database_url),
            "platform": platform.platform(),
            "versions": versions(),
            "uptime_before": before,
            "uptime_after": uptime(),
        },
        "wrk": f"-t{args.threads} -d{args.duration} after a {args.warmup} warm-up "
        f"({(wrk_version.stdout or wrk_version.stderr).split()[1]})",
        "rounds": args.rounds,
        "target_connections": args.target_connections,
        "levels": {
            "connections": args.connections,
            "secondary_connections": args.secondary_connections,
            "search_connections": args.search_connections,
        },
        "catalogue": {"products": row[0] if row else 0, "categories": args.categories},
        "results": [asdict(r) for r in results],
        "memory": memory,
        "stale": stale,
    }
    report["targets"] = targets(report)
    return report


if __name__ == "__main__":
    main()
