"""docs/security.md names a test for each promise: every one of them must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "security.md"


def named_tests() -> list[tuple[str, str]]:
    """(file, test) pairs; ``::name`` after a file in the same cell refers to that file."""
    pairs = []
    for row in PAGE.read_text().splitlines():
        if not row.startswith("|"):
            continue
        current = None
        for file, name in re.findall(r"`(tests/[\w/]+\.py)?::(\w+)`", row):
            current = file or current
            assert current, f"{name} has no file in: {row}"
            pairs.append((current, name))
    return pairs


def promise_rows() -> list[str]:
    """The rows of the page's "promise | proved by" tables (headers and rules left out)."""
    rows, in_table = [], False
    for row in PAGE.read_text().splitlines():
        if not row.startswith("|"):
            in_table = False
        elif "| proved by |" in row:
            in_table = True
        elif in_table and not row.startswith("|---"):
            rows.append(row)
    return rows


def test_every_promise_names_a_test() -> None:
    rows = promise_rows()
    assert rows
    unproved = [row for row in rows if not re.search(r"`(tests/[\w/]+\.py)?::\w+`", row)]
    assert not unproved, f"promises of docs/security.md that name no test: {unproved}"


def test_every_named_test_exists() -> None:
    missing = []
    for file, name in named_tests():
        tree = ast.parse((ROOT / file).read_text())
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if name not in defined:
            missing.append(f"{file}::{name}")
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"
