"""schemathesis over every operation of the example project, as three kinds of caller.

The example project runs under uvicorn with DEBUG off, on the test database and a private
redis-server (``tests.heavy.example_server``). schemathesis' CLI runs its four phases
(examples, coverage, fuzzing, stateful) against it three times: anonymous (the operations
that need no token), as a customer (all but the staff operations) and as staff holding
every catalogue permission and ``manage_webhooks`` (every operation, the webhook ones
fuzzed past their 403), each with a real access token obtained
from ``/auth/token`` (``--generation-with-security-parameters false``: no random
``Authorization`` header). Up to ``FUZZ_MAX_EXAMPLES`` (60) generated cases per operation
and phase; the checks required to pass:

- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: every status is declared in the OpenAPI document;
- ``response_schema_conformance``, ``content_type_conformance``: bodies match it.

Each role's figures (cases, statuses seen, failures) are printed (``pytest -s``) from
schemathesis' JSON report and VCR cassette. ``NEXUS_SHOP_FUZZ_SEED`` changes the seed
(fixed by default, so CI is reproducible); a failure prints the commands to reproduce.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from tests.factories import (
    CATALOG_PERMS,
    PASSWORD,
    CategoryFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
)
from tests.heavy.example_server import database_url, example_server
from tests.support.processes import run
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.heavy, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SEED = int(os.environ.get("NEXUS_SHOP_FUZZ_SEED", "20261129"))
# 60 keeps the heavy session, run once per CI run, near 10 minutes (100 took 14 with the
# client scenario); FUZZ_MAX_EXAMPLES=500 for a long local run.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "60"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
)
PHASES = ("examples", "coverage", "fuzzing", "stateful")


def _schemathesis() -> str:
    path = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert path, "schemathesis is missing: it is in pyproject's 'heavy' group (nox -s heavy)"
    return path


def _operations(schema: dict[str, Any]) -> list[tuple[str, re.Pattern[str]]]:
    """``("GET /api/products/{product_id}", regex)`` for each fuzzed operation of the document.

    HEAD operations are left out (``--exclude-method HEAD``): each is its GET's answer
    without the body, from the same view, and tests/test_head.py and the generated-client
    scenario check every one against its GET. Fuzzing them too doubled the GET cases.
    """
    found = []
    for path, item in schema["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")
        found += [
            (f"{method.upper()} {path}", pattern)
            for method in item
            if method not in {"parameters", "head"}
        ]
    return found


def _role_operations(schema: dict[str, Any], role: str) -> dict[str, str]:
    """``{"GET /api/products": operationId}``: the operations worth fuzzing as ``role``.

    Staff (every permission) get every operation. A caller without a token gets only the
    operations that need none: on the others django-ninja authenticates before it reads
    the input, so every generated case was the same 401 (a third of the session's time,
    spent re-proving what tests/test_checks_auth.py proves per operation). A customer gets
    everything but the staff operations (those that declare 403), whose input staff fuzz
    past the permission check.
    """
    chosen = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"parameters", "head"}:
                continue
            # No top-level security in the document: an absent list means none needed.
            needs_token = any(requirement for requirement in operation.get("security", []))
            if role == "anonymous" and needs_token:
                continue
            if role == "customer" and "403" in operation["responses"]:
                continue
            chosen[f"{method.upper()} {path}"] = operation["operationId"]
    return chosen


def _cassette_figures(
    cassette: Path, operations: list[tuple[str, re.Pattern[str]]]
) -> dict[str, Any]:
    """Statuses and cases per operation, read from schemathesis' VCR cassette."""
    statuses: Counter[int] = Counter()
    per_operation: Counter[str] = Counter()
    method = uri = None
    section = None
    for line in cassette.read_text(errors="replace").splitlines():
        if line.startswith("- id:"):
            method = uri = section = None
        elif line == "  request:":
            section = "request"
        elif line == "  response:":
            section = "response"
        elif section == "request" and line.startswith("    uri: "):
            uri = line.split("'", 2)[1]
        elif section == "request" and line.startswith("    method: "):
            method = line.split("'", 2)[1]
            path = "/" + uri.split("/", 3)[3].split("?", 1)[0] if uri else ""
            label = next(
                (
                    name
                    for name, regex in operations
                    if name.startswith(f"{method} ") and regex.match(path)
                ),
                "methods an operation does not declare (405 expected)",
            )
            per_operation[label] += 1
        elif section == "response" and line.startswith("      code: "):
            statuses[int(line.split(":", 1)[1].strip().strip("'"))] += 1
    return {"statuses": dict(sorted(statuses.items())), "per_operation": dict(per_operation)}


def _fuzz(
    role: str, base: str, token: str | None, report_dir: Path, *, operations: Any, chosen: Any
) -> dict[str, Any]:
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    operations = [(name, regex) for name, regex in operations if name in chosen]
    included = [arg for op_id in chosen.values() for arg in ("--include-operation-id", op_id)]
    result = run(
        _schemathesis(), "run", f"{base}/api/openapi.json",
        "--phases", ",".join(PHASES),
        "--checks", ",".join(CHECKS),
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-with-security-parameters", "false",
        "--generation-database", "none",
        "--exclude-method", "HEAD",
        "--workers", "2",
        "--request-timeout", "30",
        "--no-color",
        *included,
        "--report", "json,vcr",
        "--report-json-path", str(report_dir / f"{role}.json"),
        "--report-vcr-path", str(report_dir / f"{role}.yaml"),
        *headers,
        cwd=report_dir,  # its caches (.schemathesis/) stay out of the checkout
        timeout=600,
        check=False,
    )  # fmt: skip
    report = json.loads((report_dir / f"{role}.json").read_text())
    figures = _cassette_figures(report_dir / f"{role}.yaml", operations)
    declared = {name for name, _ in operations}
    few = {
        op: n for op, n in figures["per_operation"].items() if op in declared and n < MAX_EXAMPLES
    }
    return {
        "role": role,
        "exit_code": result.returncode,
        "cases": report["test_cases"]["generated"],
        "unique_failures": report["test_cases"]["unique_failures"],
        "failures": report["failures"],
        "errors": report["errors"],
        "phases": {name: phase["status"] for name, phase in report["phases"].items()},
        "statuses": figures["statuses"],
        "operations_tested": report["operations"]["tested"],
        "operations_total": report["operations"]["total"],
        "cases_per_operation": figures["per_operation"],
        "operations_under_max_examples": sorted(few),
        "operations_chosen": len(chosen),
        "output": result.stdout[-20000:] + result.stderr[-5000:],
        "seconds": round(report["running_time"], 1),
    }


def test_schemathesis_finds_no_5xx_no_undeclared_status_no_schema_violation(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    customer = UserFactory(username="fuzz-customer")
    # Every catalogue permission, and the webhooks': no delivery worker runs, so endpoints
    # the fuzzer creates are never called (their URLs still pass the address check).
    staff = StaffFactory(username="fuzz-staff", perms=[*CATALOG_PERMS, "manage_webhooks"])
    root = CategoryFactory()
    for n in range(3):
        ProductFactory(category=CategoryFactory(parent=root) if n else root)

    with example_server(
        database_url=database_url(connection.settings_dict),
        redis_url=redis_server.url,
        settings="tests.heavy.fuzz_settings",
    ) as server:
        base = server.url
        schema = requests.get(f"{base}/api/openapi.json", timeout=30).json()
        operations = _operations(schema)

        def token(username: str) -> str:
            answer = requests.post(
                f"{base}/api/auth/token",
                json={"username": username, "password": PASSWORD},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            access: str = answer.json()["access"]
            return access

        # Each role logs in just before its run, so its token is fresh for the whole run.
        roles = {"anonymous": None, "customer": customer.username, "staff": staff.username}
        results = [
            _fuzz(
                role,
                base,
                token(username) if username else None,
                tmp_path,
                operations=operations,
                chosen=_role_operations(schema, role),
            )
            for role, username in roles.items()
        ]

    for result in results:
        summary = {k: v for k, v in result.items() if k != "output"}
        print(f"\nschemathesis {result['role']}: {json.dumps(summary, sort_keys=True)}")
    failed = [r for r in results if r["exit_code"] != 0 or r["unique_failures"] or r["errors"]]
    assert not failed, "\n\n".join(f"--- {r['role']} ---\n{r['output']}" for r in failed)
    for result in results:
        # schemathesis' total counts the HEAD operations it was told to leave out.
        assert result["operations_tested"] == result["operations_chosen"]
        assert set(result["phases"].values()) <= {"success", "skip"}, result["phases"]
        assert result["phases"]["fuzzing"] == "success"
        assert not any(int(status) >= 500 for status in result["statuses"])
        if result["role"] != "anonymous":  # its token stayed valid for the whole run
            statuses = result["statuses"]
            assert statuses.get(401, 0) < statuses.get(200, 0), statuses
