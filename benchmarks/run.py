"""HTTP load benchmark: nexus_shop against the same read API written with DRF.

``nox -s bench`` runs this file; ``nox -s bench -- --help`` lists the options. It

1. creates a scratch PostgreSQL database (``nexus_bench``), migrates and seeds it with
   ``nexus_shop_seed`` (20,000 products in 40 categories, seed 1);
2. for each framework, starts one uvicorn worker (ASGI) serving only that framework, runs
   ``wrk`` against each scenario on the loopback, and reads the worker's peak RSS;
3. prints a table and writes ``benchmarks/results/latest.json`` and ``latest.md``.

``--cache both`` repeats everything with ``REDIS_URL`` set (django-cachalot on Redis through
``nexus_shop.cache.RedisCache``). ``--depth`` runs the pagination-depth benchmark instead
(see ``benchmarks/pagination_depth.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

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


def pg_url(database_url: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(scheme="postgresql"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Server -------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    def memory(self) -> dict[str, int]:
        """VmHWM (peak resident set) and VmRSS of the worker, in KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.MULTILINE))
        return {key: int(value) for key, value in values.items()}


@contextlib.contextmanager
def serve(database_url: str, *, only: str, redis_url: str, cache_prefix: str) -> Iterator[Server]:
    port = free_port()
    env = django_env(
        database_url, BENCH_ONLY=only, REDIS_URL=redis_url, BENCH_CACHE_PREFIX=cache_prefix
    )
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
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                sys.exit(f"uvicorn exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("uvicorn did not start within 30 s")
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310  (loopback http only)
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        return json.load(response)


# wrk ----------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"cannot read the latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Result:
    scenario: str
    framework: str
    cache: str
    url: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    rounds: list[float]


def run_wrk(wrk: str, url: str, *, duration: str, connections: int, threads: int) -> dict[str, Any]:
    output = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}",
            "--latency",
            "--timeout",
            "10s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and total):
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
    return {
        "requests_per_second": float(rps.group(1)),
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
        "requests": int(total.group(1)),
        "errors": errors,
    }


# Scenarios ----------------------------------------------------------------------------------


def scenarios(server: Server, framework: str, *, deep_page: int) -> dict[str, str]:
    """Scenario name -> URL, checked once (status 200, the expected page) before load."""
    prefix = "/api" if framework == "nexus" else "/drf"
    base = server.base + prefix

    def url(path: str, **params: Any) -> str:
        return f"{base}{path}?{urlencode(params)}" if params else f"{base}{path}"

    first = get_json(url("/products", page_size=20))
    if len(first["items"]) != 20:
        raise RuntimeError(f"{framework}: page 1 has {len(first['items'])} items, not 20")
    product_id = first["items"][0]["id"]
    category = biggest_root_category(os.environ["BENCH_DATABASE_URL"])
    urls = {
        "list page 1": url("/products", page_size=20),
        "filtered + sorted": url("/products", category=category, ordering="price", page_size=20),
        "detail": url(f"/products/{product_id}"),
        f"page {deep_page} (offset)": url("/products", page=deep_page, page_size=20),
    }
    if framework == "nexus":
        before = get_json(url("/products", page=deep_page - 1, page_size=20))
        urls[f"page {deep_page} (cursor)"] = url(
            "/products", cursor=before["next_cursor"], page_size=20
        )
    for name, target in urls.items():
        body = get_json(target)
        if name != "detail" and len(body["items"]) != 20:
            raise RuntimeError(f"{framework} {name}: {len(body['items'])} items, not 20")
    return urls


_category_cache: dict[str, str] = {}


def biggest_root_category(database_url: str) -> str:
    """The slug of the top-level category with the most visible products in its subtree."""
    if "slug" not in _category_cache:
        import psycopg

        with psycopg.connect(pg_url(database_url)) as conn:
            row = conn.execute(
                """
                SELECT root.slug
                FROM nexus_shop_category root
                JOIN nexus_shop_category c ON c.path LIKE root.path || '%'
                JOIN nexus_shop_product p ON p.category_id = c.id
                WHERE root.parent_id IS NULL AND p.deleted_at IS NULL AND p.is_active
                GROUP BY root.slug ORDER BY count(*) DESC, root.slug LIMIT 1
                """
            ).fetchone()
        if row is None:
            raise RuntimeError("the seeded database has no categorised products")
        _category_cache["slug"] = row[0]
    return _category_cache["slug"]


def bench_variant(
    wrk: str, args: argparse.Namespace, *, frameworks: list[str], cache: str
) -> tuple[list[Result], dict[str, dict[str, int]]]:
    """Serve every framework at once (one worker each) and alternate between them.

    Each scenario runs ``--rounds`` times per framework, the frameworks taking turns, so
    that a change in the machine's load during the run hits all of them alike. The figures
    kept are the medians over the rounds.
    """
    redis_url = args.redis_url if cache == "redis" else ""
    prefix = f"nexus-bench-{uuid.uuid4().hex[:12]}"
    results = []
    with contextlib.ExitStack() as stack:
        servers = {
            framework: stack.enter_context(
                serve(args.database_url, only=framework, redis_url=redis_url, cache_prefix=prefix)
            )
            for framework in frameworks
        }
        urls = {
            framework: scenarios(server, framework, deep_page=args.deep_page)
            for framework, server in servers.items()
        }
        names = list(dict.fromkeys(name for found in urls.values() for name in found))
        for name in names:
            runs: dict[str, list[dict[str, Any]]] = {f: [] for f in frameworks if name in urls[f]}
            for framework in runs:
                # Warm up: imports, connections, and (with Redis) cachalot's first fill.
                run_wrk(
                    wrk,
                    urls[framework][name],
                    duration="2s",
                    connections=args.connections,
                    threads=args.threads,
                )
            for _ in range(args.rounds):
                for framework, figures in runs.items():
                    figures.append(
                        run_wrk(
                            wrk,
                            urls[framework][name],
                            duration=args.duration,
                            connections=args.connections,
                            threads=args.threads,
                        )
                    )
            for framework, figures in runs.items():
                result = Result(
                    scenario=name,
                    framework=framework,
                    cache=cache,
                    url=urls[framework][name],
                    requests_per_second=statistics.median(
                        f["requests_per_second"] for f in figures
                    ),
                    p50_ms=statistics.median(f["p50_ms"] for f in figures),
                    p99_ms=statistics.median(f["p99_ms"] for f in figures),
                    requests=sum(f["requests"] for f in figures),
                    errors=sum(f["errors"] for f in figures),
                    rounds=[f["requests_per_second"] for f in figures],
                )
                print(
                    f"  {framework:5} {cache:5} {name:24} {result.requests_per_second:9.1f} req/s"
                    f"  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
                    f"  errors {result.errors}  rounds {result.rounds}",
                    flush=True,
                )
                results.append(result)
        memory = {framework: server.memory() for framework, server in servers.items()}
    return results, memory


# Report -------------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Run {report['started_at']} on {report['machine']['cpus']} CPUs "
        f"(Python {report['machine']['python']}, PostgreSQL {report['machine']['postgresql']}, "
        f"load average {report['machine']['loadavg_before']} before, "
        f"{report['machine']['loadavg_after']} after; {report['machine']['server']}); "
        f"{report['catalogue']['products']:,} products, wrk {report['wrk']}.",
        "",
        f"Command: `{report['command']}`",
        "",
    ]
    for cache in report["caches"]:
        lines += [
            f"Cache: **{cache}**",
            "",
            "| scenario | nexus_shop req/s | DRF req/s | nexus / DRF | nexus p50 / p99 ms "
            "| DRF p50 / p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        rows = [r for r in report["results"] if r["cache"] == cache]
        names = list(dict.fromkeys(r["scenario"] for r in rows))
        by_key = {(r["scenario"], r["framework"]): r for r in rows}
        for name in names:
            nexus = by_key.get((name, "nexus"))
            drf = by_key.get((name, "drf"))
            ratio = (
                f"{nexus['requests_per_second'] / drf['requests_per_second']:.2f}x"
                if nexus and drf
                else "n/a"
            )

            def cell(r: dict[str, Any] | None, key: str) -> str:
                return f"{r[key]:.1f}" if r else "n/a"

            def lat(r: dict[str, Any] | None) -> str:
                return f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" if r else "n/a"

            lines.append(
                f"| {name} | {cell(nexus, 'requests_per_second')} | "
                f"{cell(drf, 'requests_per_second')} | {ratio} | {lat(nexus)} | {lat(drf)} |"
            )
        memory = report["memory"][cache]
        lines += [
            "",
            "Peak RSS of the worker (VmHWM): "
            + ", ".join(
                f"{framework} {memory[framework]['VmHWM'] / 1024:.1f} MiB"
                for framework in ("nexus", "drf")
                if framework in memory
            ),
            "",
        ]
    return "\n".join(lines)


def server_stack() -> str:
    """uvicorn's version and the event loop and HTTP parser it picks ("auto")."""
    import importlib.metadata
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    versions = {
        name: importlib.metadata.version(name) for name in ("uvicorn", "django", "django-ninja")
    }
    drf = importlib.metadata.version("djangorestframework")
    return (
        f"uvicorn {versions['uvicorn']} ({loop}, {http}), Django {versions['django']}, "
        f"django-ninja {versions['django-ninja']}, djangorestframework {drf}"
    )


def postgres_version(database_url: str) -> str:
    import psycopg

    with psycopg.connect(pg_url(database_url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="scratch database, dropped and re-created (name must start with nexus_bench)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--cache", choices=["none", "redis", "both"], default="none")
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--categories", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse-database", action="store_true", help="skip create+seed")
    parser.add_argument("--duration", default="10s", help="wrk -d per scenario")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario and framework")
    parser.add_argument("--deep-page", type=int, default=500)
    parser.add_argument("--frameworks", default="nexus,drf")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--depth",
        action="store_true",
        help="run benchmarks/pagination_depth.py instead; every other option goes to it",
    )
    argv = sys.argv[1:] if argv is None else argv
    if "--depth" in argv:
        # Everything else belongs to pagination_depth.py (whose options overlap with ours).
        sys.path.insert(0, str(HERE))
        from pagination_depth import main as depth_main

        depth_main([arg for arg in argv if arg != "--depth"])
        return
    args = parser.parse_args(argv)
    os.environ["BENCH_DATABASE_URL"] = args.database_url

    wrk = ensure_wrk()
    started = datetime.now(UTC).replace(microsecond=0)
    load_before = os.getloadavg()
    if not args.reuse_database:
        print(f"creating and seeding {args.database_url}", flush=True)
        recreate_database(args.database_url)
        manage(args.database_url, "migrate", "--noinput", "-v", "0")
        seed(
            args.database_url,
            products=args.products,
            categories=args.categories,
            seed_value=args.seed,
        )

    caches = ["none", "redis"] if args.cache == "both" else [args.cache]
    frameworks = args.frameworks.split(",")
    results: list[Result] = []
    memory: dict[str, dict[str, dict[str, int]]] = {}
    for cache in caches:
        found, memory[cache] = bench_variant(wrk, args, frameworks=frameworks, cache=cache)
        results += found

    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    import psycopg

    with psycopg.connect(pg_url(args.database_url)) as conn:
        row = conn.execute("SELECT count(*) FROM nexus_shop_product").fetchone()
    report = {
        "started_at": started.isoformat(),
        "command": " ".join(["python", "benchmarks/run.py", *argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgresql": postgres_version(args.database_url),
            "platform": platform.platform(),
            "server": server_stack(),
            # Other work on the machine skews the figures: the 1-minute load average
            # before the run and after it.
            "loadavg_before": round(load_before[0], 2),
            "loadavg_after": round(os.getloadavg()[0], 2),
        },
        "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration}, median of "
        f"{args.rounds} rounds ({(wrk_version.stdout or wrk_version.stderr).split()[1]})",
        "catalogue": {"products": row[0] if row else 0, "categories": args.categories},
        "caches": caches,
        "results": [asdict(r) for r in results],
        "memory": memory,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    args.output.with_suffix(".md").write_text(table + "\n")
    print()
    print(table)
    print(f"wrote {args.output} and {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
