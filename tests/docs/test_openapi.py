"""``docs/openapi.json`` is the API contract: it must match what the API serves."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.support.openapi import DOCUMENT, render, served_schema

HOW_TO_FIX = "docs/openapi.json is out of date: run `nox -s openapi` to regenerate it"


def _changes(committed: dict[str, Any], served: dict[str, Any], prefix: str = "") -> list[str]:
    changes = []
    for key in sorted(set(committed) | set(served), key=str):
        old, new = committed.get(key), served.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changes += _changes(old, new, f"{prefix}/{key}")
        else:
            changes.append(f"{prefix}/{key}")
    return changes


def test_the_committed_document_is_valid_json_with_every_path() -> None:
    committed = json.loads(DOCUMENT.read_text())
    assert committed["openapi"].startswith("3.")
    assert "/api/products" in committed["paths"]
    assert "/api/auth/token" in committed["paths"]


@pytest.mark.skipif(
    os.environ.get("NEXUS_SHOP_LOWEST_VERSIONS") == "1",
    reason="the lowest supported django-ninja renders the schema differently",
)
def test_the_committed_document_matches_the_served_schema() -> None:
    served = served_schema()
    committed = json.loads(DOCUMENT.read_text())
    changes = _changes(committed, served)
    assert not changes, f"{HOW_TO_FIX}. It differs at: {', '.join(changes[:20])}"
    assert DOCUMENT.read_text() == render(served), f"{HOW_TO_FIX} (formatting differs)"
