"""Clients generated from docs/openapi.json build without warnings, type-check, and work.

What a front-end team does with the document (docs/clients.md):

- ``openapi-python-client`` (pyproject's ``clients`` group) generates a Python client,
  and ``openapi-typescript`` (npm, pinned in tests/heavy/clients/package-lock.json) the
  TypeScript types; either one printing a warning fails the test;
- the storefront snippets of docs/clients.md (docs/src/clients_storefront.py and .ts)
  pass ``mypy --strict`` and ``tsc --noEmit`` (strict) against what was generated;
- the Python snippet runs against the example project served by uvicorn: public reads
  with a plain ``Client``, a declared 304, a HEAD, a login, a cart and a checkout
  without a body;
- a typed scenario (tests/heavy/clients/scenario.py, also ``mypy --strict``) calls every
  operation of the document through the generated functions against a live server,
  304, 412, 409 with ``lines``, 428, 429 with ``Retry-After`` and HEADs included. Every
  request it sends is recorded and mapped back to its operation: an operation that no
  step calls, a status the operation does not declare, or a request that matches no
  operation fails the test. A new operation thus needs a step before CI passes.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import override_settings

from tests.factories import CATALOG_PERMS, PASSWORD, ProductFactory, StaffFactory, UserFactory
from tests.heavy.example_server import database_url, example_server
from tests.support.processes import ROOT, run
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.heavy, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NPM_DIR = ROOT / "tests" / "heavy" / "clients"
DOCUMENT = ROOT / "docs" / "openapi.json"
SNIPPETS = ROOT / "docs" / "src"
SCENARIO = ROOT / "tests" / "heavy" / "clients" / "scenario.py"
SCENARIO_SETTINGS = "tests.heavy.client_scenario_settings"
EXAMPLE_HASHER = "django.contrib.auth.hashers.PBKDF2PasswordHasher"  # Django's default
# As docs/clients.md shows them (run here with the document's absolute path).
PYTHON_COMMAND = (
    "openapi-python-client generate --path docs/openapi.json --meta none "
    "--output-path nexus_shop_client"
)
TYPESCRIPT_COMMAND = "npx openapi-typescript docs/openapi.json -o nexus-shop.d.ts"
PACKAGES = {"nexus_shop_client", "clients_storefront", "scenario"}
MYPY_INI = """\
[mypy]
strict = True

[mypy-nexus_shop_client.*]
# The generator's own client.py fails --strict (it passes *args to httpx's __exit__):
# its types are used, its errors are not ours.
follow_imports = silent
"""


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    assert path, f"{name} is missing: pyproject's 'clients' and 'typecheck' groups (nox -s heavy)"
    return path


def _no_warnings(output: str, generator: str) -> None:
    assert "warn" not in output.lower(), f"{generator} warned:\n{output}"
    assert "⚠" not in output, f"{generator} warned:\n{output}"


@pytest.fixture(scope="module")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated package ``nexus_shop_client`` in a fresh folder (on ``sys.path``)."""
    where = tmp_path_factory.mktemp("python-client")
    # The generator formats its output with ruff, found on PATH (the lint group's).
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    result = run(
        _tool("openapi-python-client"), "generate", "--path", DOCUMENT,
        "--meta", "none", "--output-path", where / "nexus_shop_client",
        cwd=where, env=env,
    )  # fmt: skip
    _no_warnings(result.stdout + result.stderr, "openapi-python-client")
    return where


def test_the_docs_page_shows_the_commands_this_test_runs() -> None:
    page = (ROOT / "docs" / "clients.md").read_text()
    assert PYTHON_COMMAND in page
    assert TYPESCRIPT_COMMAND in page


def test_typescript_types_generate_without_warnings_and_the_snippet_type_checks() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is missing: .ci/run installs Debian's nodejs and npm"
    run(npm, "ci", "--no-audit", "--no-fund", cwd=NPM_DIR)
    build = NPM_DIR / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    bin_dir = NPM_DIR / "node_modules" / ".bin"
    result = run(bin_dir / "openapi-typescript", DOCUMENT, "-o", build / "nexus-shop.d.ts")
    _no_warnings(result.stdout + result.stderr, "openapi-typescript")
    shutil.copy(SNIPPETS / "clients_storefront.ts", build)
    run(bin_dir / "tsc", "-p", NPM_DIR / "tsconfig.json", cwd=NPM_DIR)


def test_the_python_snippet_and_scenario_type_check_strictly(python_client: Path) -> None:
    shutil.copy(SNIPPETS / "clients_storefront.py", python_client)
    shutil.copy(SCENARIO, python_client)
    (python_client / "mypy.ini").write_text(MYPY_INI)
    run(
        _tool("mypy"), "--config-file", "mypy.ini", "--no-incremental",
        "clients_storefront.py", "scenario.py", cwd=python_client,
    )  # fmt: skip


@contextmanager
def _imported(folder: Path, module: str) -> Iterator[ModuleType]:
    """``module`` from ``folder`` (next to the generated package), forgotten afterwards."""
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(module)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] in PACKAGES]:
            del sys.modules[name]


def test_the_python_snippet_runs_against_a_live_server(
    python_client: Path, redis_server: RedisServer
) -> None:
    shopper = UserFactory(username="shopper")
    # Hashed as the example project hashes (the suite's settings use a fast hasher).
    with override_settings(PASSWORD_HASHERS=[EXAMPLE_HASHER]):
        shopper.set_password(PASSWORD)
        shopper.save(update_fields=["password"])
    ProductFactory(price="3.50", stock=5)
    ProductFactory(price="9.00", stock=5)
    shutil.copy(SNIPPETS / "clients_storefront.py", python_client)
    with (
        _imported(python_client, "clients_storefront") as storefront,
        example_server(
            database_url=database_url(connection.settings_dict), redis_url=redis_server.url
        ) as server,
    ):
        number = storefront.storefront(server.url, "shopper", PASSWORD)
    assert number


class Operations:
    """The operations of docs/openapi.json, and which one a request was."""

    def __init__(self, document: dict[str, Any]) -> None:
        # (method, pattern, literal segments, operationId) for each operation; the
        # declared statuses by operationId.
        self.routes: list[tuple[str, str, re.Pattern[str], int, str]] = []
        self.statuses: dict[str, set[int]] = {}
        for path, item in document["paths"].items():
            segments = path.split("/")
            pattern = "/".join(
                "[^/]+" if segment.startswith("{") else re.escape(segment) for segment in segments
            )
            literal = sum(not segment.startswith("{") for segment in segments)
            for method, operation in item.items():
                if method not in {"get", "head", "post", "put", "patch", "delete"}:
                    continue
                operation_id = operation["operationId"]
                route = (method.upper(), path, re.compile(pattern), literal, operation_id)
                self.routes.append(route)
                self.statuses[operation_id] = {int(code) for code in operation["responses"]}

    def of(self, method: str, path: str) -> str:
        """The operation that ``method path`` calls: the literal path wins over a template
        (``/api/products/facets`` over ``/api/products/{product_id}``)."""
        matches = sorted(
            (literal, operation_id)
            for verb, _, pattern, literal, operation_id in self.routes
            if verb == method and pattern.fullmatch(path)
        )
        assert matches, f"{method} {path} is no operation of the document"
        return matches[-1][1]

    def check(self, calls: list[tuple[str, str, int]]) -> dict[str, set[int]]:
        """The statuses seen per operation in ``calls``; fails on an undeclared status and
        on an operation never called."""
        seen: dict[str, set[int]] = {}
        for method, path, status in calls:
            operation_id = self.of(method, path)
            assert status in self.statuses[operation_id], (
                f"{method} {path} ({operation_id}) answered {status}, not declared"
            )
            seen.setdefault(operation_id, set()).add(status)
        missing = sorted(set(self.statuses) - set(seen))
        assert not missing, f"operations the scenario never calls: {missing}"
        return seen


def test_an_operation_the_scenario_never_calls_fails_the_check() -> None:
    operations = Operations(json.loads(DOCUMENT.read_text()))
    assert operations.of("GET", "/api/products/facets") == "product_facets"
    assert operations.of("HEAD", "/api/products/7") == "product_get_head"
    # One call of each operation, its path parameters all 1.
    calls = [
        (method, re.sub(r"\{[^/]+\}", "1", path), min(operations.statuses[operation_id]))
        for method, path, _, _, operation_id in operations.routes
    ]
    assert len(operations.check(calls)) == len(operations.statuses)
    with pytest.raises(AssertionError, match=r"never calls: \['health_head'\]"):
        operations.check([call for call in calls if call[:2] != ("HEAD", "/api/health")])
    with pytest.raises(AssertionError, match="418, not declared"):
        operations.check([*calls, ("GET", "/api/health", 418)])


def test_the_typed_scenario_calls_every_operation_against_a_live_server(
    python_client: Path,
    redis_server: RedisServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    StaffFactory(
        username="manager",
        perms=[*CATALOG_PERMS, "view_order", "change_order", "manage_webhooks"],
    )
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path))  # the uploaded picture goes there
    calls: list[tuple[str, str, int]] = []

    def record(response: httpx.Response) -> None:
        request = response.request
        calls.append((request.method, request.url.path, response.status_code))

    shutil.copy(SCENARIO, python_client)
    with (
        _imported(python_client, "scenario") as scenario,
        example_server(
            database_url=database_url(connection.settings_dict),
            redis_url=redis_server.url,
            settings=SCENARIO_SETTINGS,
        ) as server,
    ):
        scenario.run(server.url, staff=("manager", PASSWORD), on_response=record)

    seen = Operations(json.loads(DOCUMENT.read_text())).check(calls)
    # The answers the issue asks for, each seen (the scenario asserts their bodies).
    assert 428 in seen["checkout"]
    assert 409 in seen["checkout"]
    assert 429 in seen["auth_token_refresh"]
    assert {"product_get", "product_list", "category_get", "product_facets"} <= {
        operation_id for operation_id, statuses in seen.items() if 304 in statuses
    }
    assert 412 in seen["product_update"]
    assert 412 in seen["category_update"]
    assert 409 in seen["webhook_ping"]
