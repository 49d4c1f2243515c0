"""Every status and header the API sent during the test run is declared in the document.

Client generators type what the document declares: a status it leaves out raises
``UnexpectedStatus`` in a generated client, and a header it leaves out can only be read
untyped. ``tests.support.contract.Recorder`` (first in tests/settings.py's MIDDLEWARE)
notes every answer of the run; this test, which ``tests/conftest.py`` runs last, maps each
to its operation in ``docs/openapi.json`` and fails on an undeclared status or header.
The declarations come from one table, ``nexus_shop.openapi.RESPONSE_HEADERS``.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from tests.support.contract import SEEN, Seen
from tests.support.openapi import DOCUMENT

# Headers that Django or the host's middleware add, not nexus_shop: not the API's contract.
NOT_OURS = {
    "content-type": "said by each response's content media type",
    "content-length": "HTTP framing, set by Django or the server",
    "x-frame-options": "the host's clickjacking middleware",
    "x-content-type-options": "the host's SecurityMiddleware",
    "referrer-policy": "the host's SecurityMiddleware",
    "cross-origin-opener-policy": "the host's SecurityMiddleware",
    "set-cookie": "the host's session and CSRF middleware (never on an API answer of ours)",
}
# Statuses no operation promises: a bug, whatever the operation.
NOT_ON_PURPOSE = {500: "an unhandled error"}

Operation = tuple[str, dict[str, Any]]


def _operations(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    return [
        (re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", path) + "$"), method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def _operation(spec_ops: list[Any], seen: Seen) -> dict[str, Any] | None:
    for pattern, method, operation in spec_ops:
        if method == seen.method.lower() and pattern.match(seen.path):
            result: dict[str, Any] = operation
            return result
    return None  # the API root, openapi.json, Swagger UI, unknown paths, wrong methods


def undeclared(spec: dict[str, Any], seen: set[Seen]) -> tuple[list[str], set[str]]:
    """What ``seen`` holds that ``spec`` does not declare, and the operations seen."""
    spec_ops = _operations(spec)
    problems: set[str] = set()
    operations: set[str] = set()
    for answer in seen:
        operation = _operation(spec_ops, answer)
        if operation is None or answer.status in NOT_ON_PURPOSE:
            continue
        if not answer.purchase_enabled and operation.get("tags") in (
            ["cart"],
            ["orders"],
            ["staff orders"],
        ):
            continue  # switched off, the purchase path is not in the document at all
        operations.add(operation["operationId"])
        response = operation["responses"].get(str(answer.status))
        where = f"{operation['operationId']} {answer.status}"
        if response is None:
            problems.add(f"{where}: status not declared")
            continue
        declared = {name.lower() for name in response.get("headers", {})}
        for header in sorted(answer.headers - declared - NOT_OURS.keys()):
            problems.add(f"{where}: header {header} not declared")
    return sorted(problems), operations


def whole_run(config: pytest.Config) -> bool:
    """Whether this run is the whole suite: no paths given, no ``-k``. A narrowed run sees
    only some operations. (``config.args`` is never empty: pytest fills it from
    ``testpaths``.)"""
    return config.args_source == pytest.Config.ArgsSource.TESTPATHS and not config.option.keyword


def never_called(spec: dict[str, Any], operations: set[str]) -> set[str]:
    """The operations of ``spec`` (HEADs aside, which mirror their GETs) not in ``operations``."""
    every = {op["operationId"] for _p, _m, op in _operations(spec)}
    return {name for name in every - operations if not name.endswith("_head")}


def test_what_the_suite_saw_is_declared(request: pytest.FixtureRequest) -> None:
    spec = json.loads(DOCUMENT.read_text())
    problems, operations = undeclared(spec, SEEN)
    assert problems == []
    if not whole_run(request.config) or os.environ.get("PYTEST_XDIST_WORKER"):
        # Narrowed; or one xdist worker of several, which saw its share of the operations:
        # tests/conftest.py checks the workers' union when the run ends.
        return
    assert never_called(spec, operations) == set(), "operations the suite never called"


def _seen(method: str, path: str, status: int, *headers: str) -> Seen:
    return Seen(method, path, status, frozenset(headers), purchase_enabled=True)


def test_an_undeclared_status_or_header_is_reported() -> None:
    spec = json.loads(DOCUMENT.read_text())
    seen = {
        _seen("GET", "/api/products/7", 200, "etag", "cache-control", "content-type"),
        _seen("GET", "/api/products/7", 418, "cache-control"),
        _seen("POST", "/api/checkout", 201, "cache-control", "x-surprise"),
        _seen("GET", "/api/nowhere", 404, "x-surprise"),
        _seen("GET", "/api/products", 500),
    }
    problems, operations = undeclared(spec, seen)
    assert problems == [
        "checkout 201: header x-surprise not declared",
        "product_get 418: status not declared",
    ]
    assert operations == {"product_get", "checkout"}
