"""The committed OpenAPI document, ``docs/openapi.json``: render it, or write it.

``nox -s openapi`` runs ``python -m tests.support.openapi``, which writes the schema that
``GET /api/openapi.json`` serves under the test settings; ``tests/docs/test_openapi.py``
fails when the committed file and the served schema differ.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi.json"


def served_schema() -> dict[str, Any]:
    """What the mounted API serves at ``/api/openapi.json``."""
    from django.test import Client

    response = Client().get("/api/openapi.json")
    assert response.status_code == 200, response.content
    schema: dict[str, Any] = response.json()
    return schema


def render(schema: dict[str, Any]) -> str:
    """The file's text: stable key order as served, two-space indents, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()  # lets the test Client's "testserver" host in
    DOCUMENT.write_text(render(served_schema()))
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
