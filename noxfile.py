"""Developer and CI tasks. ``nox -l`` lists them; README names the two you need."""

from __future__ import annotations

import os
import socket
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests", "lowest", "heavy", "build", "docs"]

# Never let uv fetch interpreters from the network: use what is installed (pyenv etc.).
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nexus_shop"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# Django 5.2 LTS on the oldest Python we support, on both backends; Django 6.x on the
# newer ones, each Python once and each backend once, so every Python, every Django and
# every (Django, backend) pair runs the whole suite. (All six pairs took 26 of CI's
# minutes; the two left out repeated a Django and backend already run, on a Python
# already run.)
MATRIX = [
    ("3.11", "5.2", "sqlite"),
    ("3.11", "5.2", "postgres"),
    ("3.12", "6.1", "sqlite"),
    ("3.13", "6.1", "postgres"),
]

# Branch coverage of nexus_shop that each tests session must reach (percent), set at the
# figure measured when the gate was added, rounded down; raise it as tests grow. Per
# backend, because each runs code the other cannot (COPY, row locks and advisory locks on
# PostgreSQL; the INSERT loader on SQLite). src/ has no Python- or Django-version branches
# and every pair of the matrix runs the same tests, so one floor per backend holds across
# the matrix. Measured 2026-11-29 04:45 UTC on main with search, the response cache and
# the serving work merged (3.11, Django 5.2): SQLite 91.75%, PostgreSQL 93.56% (both
# combined: 94.84%). (Before those merges: 94.46% / 95.61%.) Raised after issue 16, whose
# CI run on 3.11 reported SQLite 93% and PostgreSQL 95% (2026-12-07).
COVERAGE_FLOOR = {"sqlite": 92, "postgres": 94}
# Coverage is measured on the oldest pair only: src/ has no Python- or Django-version
# branches, so the other pairs would measure the same lines again, and tracing every line
# slows a run (issue 16 took the suite from 1,227 to 1,611 tests; .ci/run must stay well
# under 45 minutes).
COVERAGE_PYTHON = MATRIX[0][0]
# pytest-xdist workers for the tests and lowest sessions: one per core ("auto"), or
# NEXUS_SHOP_TEST_WORKERS (e.g. "0" runs in one process, as a debugger wants).
XDIST_WORKERS = os.environ.get("NEXUS_SHOP_TEST_WORKERS", "auto")


# What each run of `nox -s tests` did, keyed "3.11-django5.2-sqlite": printed at the end by
# `tests_summary` (nox runs every session in this one process, so a module global works).
TEST_RUNS: dict[str, str] = {}


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


@nox.session
@nox.parametrize(
    ("python", "django", "backend"),
    MATRIX,
    ids=[f"{py}-django{dj}-{backend}" for py, dj, backend in MATRIX],
)
def tests(session: nox.Session, django: str, backend: str) -> None:
    """The whole suite against the installed package, on SQLite or PostgreSQL + Redis."""
    session.notify("tests_summary")  # once, after the last run: what ran and what was skipped
    run_id = f"{session.python}-django{django}-{backend}"
    env = {"NEXUS_SHOP_EXPECT_INSTALLED": "1"}
    if backend == "postgres":
        env["DATABASE_URL"] = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        env["REDIS_URL"] = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
        missing = [
            name
            for name, url, port in (
                ("PostgreSQL", env["DATABASE_URL"], 5432),
                ("Redis", env["REDIS_URL"], 6379),
            )
            if not _reachable(url, port)
        ]
        if missing:
            message = f"{' and '.join(missing)} not reachable (DATABASE_URL / REDIS_URL)"
            if CI:
                session.error(message)
            TEST_RUNS[run_id] = f"SKIPPED: {message}"
            session.skip(message)
    else:
        env["DATABASE_URL"] = ""
        env["REDIS_URL"] = ""
    # The build/install-in-a-fresh-venv test is slow: the SQLite runs do it (3.11, 3.12).
    env["NEXUS_SHOP_INSTALL_TEST"] = "1" if backend == "sqlite" else "0"

    # otel: tests/test_tracing.py runs the spans with the SDK's in-memory exporter.
    session.install(f"django~={django}.0", ".[postgres,redis,cache,otel]", *_group("test"))
    # Heavy tests (fuzzing, faults, load, two processes) run once per CI run: `nox -s heavy`.
    TEST_RUNS[run_id] = "ran (see its result above)"
    # tests/heavy needs the `heavy` group's tools (schemathesis...), not installed here.
    # One pytest-xdist worker per core (the suite took 23 of CI's minutes in one process);
    # each worker has its own test database and cache key prefix (tests/settings.py).
    pytest = ["-m", "pytest", "-n", XDIST_WORKERS, "-m", "not heavy", "--ignore=tests/heavy"]
    if session.python == COVERAGE_PYTHON:
        # Branch coverage of the installed nexus_shop ([tool.coverage] in pyproject.toml),
        # collected from every xdist worker by pytest-cov, one data file per session so
        # parallel sessions never mix. The gate holds for the whole suite; a run narrowed
        # with posargs (-k, a path) reports.
        env["COVERAGE_FILE"] = str(Path(session.create_tmp()) / ".coverage")
        pytest += ["--cov", "--cov-report=term-missing:skip-covered"]
        if not session.posargs:
            pytest.append(f"--cov-fail-under={COVERAGE_FLOOR[backend]}")
    session.run("python", *pytest, *session.posargs, env=env)


@nox.session(python="3.11")
def lowest(session: nox.Session) -> None:
    """The suite on SQLite with every runtime dependency at its declared floor.

    The package's own requirements (with the postgres, redis and cache extras) are resolved
    with ``--resolution lowest-direct``, so a floor in pyproject.toml that the code outgrew
    fails here. The test tools are then added at their usual versions, and the package
    itself goes in without touching what was resolved.
    """
    if session.venv_backend != "uv":
        session.error("the lowest session needs nox's uv backend (pip has no lowest-direct)")
    project = PYPROJECT["project"]
    runtime = list(project["dependencies"])
    for extra in ("postgres", "redis", "cache"):
        runtime += project["optional-dependencies"][extra]
    session.install("--resolution", "lowest-direct", *runtime)
    session.install(*_group("test"))
    session.install("--no-deps", ".")
    session.run("uv", "pip", "list", silent=False)
    env = {
        "NEXUS_SHOP_EXPECT_INSTALLED": "1",
        "NEXUS_SHOP_INSTALL_TEST": "0",  # builds a fresh venv at the newest versions
        "NEXUS_SHOP_LOWEST_VERSIONS": "1",  # the committed OpenAPI document is for the newest
        "DATABASE_URL": "",
        "REDIS_URL": "",
    }
    # tests/heavy needs the `heavy` group's tools (schemathesis...), not installed here.
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        XDIST_WORKERS,
        "-m",
        "not heavy",
        "--ignore=tests/heavy",
        *session.posargs,
        env=env,
    )


def _was_selected(session: nox.Session, signature: str) -> bool:
    """Whether this nox run queued or ran ``signature`` (a session nox skipped counts)."""
    # nox has no public API for this; its manifest answers `in` for queued and run sessions.
    manifest = getattr(getattr(session, "_runner", None), "manifest", None)
    return manifest is None or signature in manifest


@nox.session(python=False)
def tests_summary(session: nox.Session) -> None:
    """Which runs of `nox -s tests` ran, and which were skipped and why (queued by `tests`)."""
    skipped = listed = 0
    for py, dj, backend in MATRIX:
        run_id = f"{py}-django{dj}-{backend}"
        outcome = TEST_RUNS.get(run_id)
        if outcome is None and not _was_selected(session, f"tests({run_id})"):
            continue  # not selected (`-s "tests(...)"`), not skipped
        if outcome is None:  # nox skipped it before the session function ran
            outcome = (
                f"SKIPPED: no python{py} on PATH. With pyenv, make the installed ones "
                "visible: PYENV_VERSION=3.11.7:3.12.1:3.13.0 nox -s tests (your "
                "versions; `pyenv versions` lists them), or `pyenv global 3.11 3.12 3.13`"
            )
        skipped += outcome.startswith("SKIPPED")
        listed += 1
        session.log(f"tests({run_id}): {outcome}")
    if skipped:
        session.warn(f"{skipped} of {listed} test runs were skipped")


@nox.session(python="3.11")
def heavy(session: nox.Session) -> None:
    """The heavy tests, once: fuzzing, faults, load, two-process and Varnish checks (PostgreSQL)."""
    env = {
        "NEXUS_SHOP_EXPECT_INSTALLED": "1",
        "NEXUS_SHOP_INSTALL_TEST": "0",
        "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
    }
    for name, url, port in (
        ("PostgreSQL", env["DATABASE_URL"], 5432),
        ("Redis", env["REDIS_URL"], 6379),
    ):
        if not _reachable(url, port):
            message = f"{name} not reachable ({url})"
            if CI:
                session.error(message)
            session.skip(message)
    # clients, lint and typecheck: the generated-clients test runs the generator (which
    # formats with ruff) and mypy --strict on the docs' snippet.
    session.install(
        "django~=5.2.0",
        ".[postgres,redis,cache]",
        *_group("test"),
        *_group("heavy"),
        *_group("clients"),
        *_group("lint"),
        *_group("typecheck"),
    )
    # Every heavy test lives in tests/heavy (tests/conftest.py refuses one elsewhere).
    session.run(
        "python",
        "-m",
        "pytest",
        "-m",
        "heavy",
        "tests/heavy",
        "--durations=10",  # where CI's minutes go
        *session.posargs,
        env=env,
    )


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*_group("lint"))
    targets = [
        "src",
        "tests",
        "example_project",
        "benchmarks",
        "docs/src",
        "docs_hooks",
        "noxfile.py",
    ]
    targets = [t for t in targets if (ROOT / t).exists()]
    session.run("ruff", "check", *targets)
    session.run("ruff", "format", "--check", *targets)


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict (with django-stubs) on src/ and tests/ (relaxations: pyproject.toml)."""
    session.install(".[postgres,redis,cache,otel]", *_group("typecheck"), *_group("test"))
    session.run("mypy", "src/nexus_shop", "tests")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """mkdocs build --strict into site/ (open site/index.html), then check its links.

    `nox -s docs -- serve` previews it live instead.
    """
    session.install(*_group("docs"))
    session.env["NO_MKDOCS_2_WARNING"] = "1"  # material's banner about its successor
    if session.posargs[:1] == ["serve"]:
        # Live preview with reload on http://127.0.0.1:8001 (the demo keeps :8000).
        session.run("mkdocs", "serve", "--strict", "--dev-addr", "127.0.0.1:8001")
        return
    site = ROOT / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), *session.posargs)
    session.log(f"built the documentation in {site}: open {site / 'index.html'}")
    # Every internal link of the built HTML, and no script or stylesheet from the internet.
    session.install(".[postgres,redis,cache]", *_group("test"))
    session.run("python", "-m", "pytest", "tests/docs/test_site_links.py", env={"DATABASE_URL": ""})


@nox.session(python="3.11")
def openapi(session: nox.Session) -> None:
    """Regenerate docs/openapi.json, the committed OpenAPI document, from the app."""
    session.install(".[postgres,redis,cache]", *_group("test"))
    env = {"DATABASE_URL": "", "REDIS_URL": "", "DJANGO_SETTINGS_MODULE": "tests.settings"}
    session.run("python", "-m", "tests.support.openapi", env=env)


@nox.session(python="3.11")
def build(session: nox.Session) -> None:
    """sdist + wheel; the wheel must hold migrations and py.typed, and no tests."""
    session.install("build")
    out = Path(tempfile.mkdtemp(prefix="nexus-shop-dist-"))
    session.run("python", "-m", "build", "--outdir", str(out))
    wheels = list(out.glob("nexus_shop-*.whl"))
    sdists = list(out.glob("nexus_shop-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in {out}, found {wheels + sdists}")
    names = zipfile.ZipFile(wheels[0]).namelist()
    required = ["nexus_shop/py.typed", "nexus_shop/migrations/0001_initial.py"]
    for name in required:
        if name not in names:
            session.error(f"{name} is missing from {wheels[0].name}")
    stray = [n for n in names if n.startswith(("tests/", "example_project/", "benchmarks/"))]
    if stray:
        session.error(f"the wheel must not ship {stray}")
    session.log(f"built {wheels[0].name} and {sdists[0].name} in {out}")


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """Migrate, seed a demo catalogue, create a demo staff account, serve on :8000.

    Served over WSGI by granian, as the Docker image does (docs/deployment.md says why);
    ``DEMO_SERVER=uvicorn`` serves the ASGI entry point instead. Extra arguments go to the
    server.
    """
    session.install(".[postgres,redis,cache]", *_group("example"))
    # The example settings refuse to start without real keys unless DEBUG is on.
    env = {"DEBUG": os.environ.get("DEBUG", "1")}
    host = os.environ.get("DEMO_HOST", "127.0.0.1")
    port = os.environ.get("DEMO_PORT", "8000")
    server = os.environ.get("DEMO_SERVER", "granian")
    manage = ["python", "example_project/manage.py"]
    session.run(*manage, "migrate", "--noinput", env=env)
    session.run(*manage, "demo_setup", "--base-url", f"http://{host}:{port}", env=env)
    session.log(f"Swagger UI: http://{host}:{port}/api/docs")
    if server == "granian":
        command = [
            "granian",
            "--interface",
            "wsgi",
            "example_project.wsgi:application",
            "--working-dir",
            "example_project",
            "--no-ws",
        ]
    elif server == "uvicorn":
        command = ["uvicorn", "example_project.asgi:application", "--app-dir", "example_project"]
        # Django has no lifespan handler; without this uvicorn logs that it is unsupported.
        command += ["--lifespan", "off"]
    else:
        session.error(f"DEMO_SERVER={server!r}: use granian (WSGI, the default) or uvicorn (ASGI)")
    session.run(*command, "--host", host, "--port", port, *session.posargs, env=env)


# `nox -s bench -- <flag>` runs one of these instead of the DRF comparison (run.py).
BENCH_SCRIPTS = {
    "--scale": "scale.py",
    "--query-cache": "query_cache.py",
    "--observability": "observability.py",
    "--webhooks": "webhooks.py",
    "--outbox": "outbox_cost.py",
    "--migration": "migration_variants.py",
}


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Load benchmarks: nexus_shop vs the same API in DRF (see benchmarks/README.md).

    ``-- --scale`` runs benchmarks/scale.py instead: the 1,000,000-product latency table.
    ``-- --query-cache`` runs benchmarks/query_cache.py: what cachalot adds on its own.
    ``-- --observability`` runs benchmarks/observability.py: metrics and access logs on vs off.
    ``-- --webhooks`` runs benchmarks/webhooks.py: webhook deliveries/s and commit-to-delivery.
    ``-- --outbox`` runs benchmarks/outbox_cost.py: what events add to a write and a checkout.
    ``-- --migration`` runs benchmarks/migration_variants.py: the variants migrations on 1M.
    """
    # The benchmarks serve the example project, so they need its dependencies too.
    session.install(".[postgres,redis,cache]", *_group("example"), *_group("bench"))
    # One flag picks one script; the rest of the arguments go to it.
    for flag, script in BENCH_SCRIPTS.items():
        if flag in session.posargs:
            args = [arg for arg in session.posargs if arg != flag]
            session.run("python", f"benchmarks/{script}", *args)
            return
    session.run("python", "benchmarks/run.py", *session.posargs)
