"""docs/auth.md's curl walk-through, run for real against a live server.

Every ```bash block of the page runs, in order, in one bash process (so shell variables
such as ``$ACCESS`` carry from one block to the next) with ``API`` pointing at
pytest-django's live server. When a ```text block follows a bash block, it is what that
block prints; ``...`` in it stands for any text (ids differ between databases).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import doc_pages

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "auth.md"

# docs/ ships in the sdist (pyproject's sdist include), so these always run: a missing
# page or sample is a failure, not a skip.


def blocks() -> list[tuple[str, str | None]]:
    return doc_pages.blocks(PAGE)


def test_the_page_has_the_whole_flow() -> None:
    code = "\n".join(body for body, _ in blocks())
    for path in (
        "/auth/register",
        "/auth/token",
        "/auth/me",
        "/auth/token/refresh",
        "/auth/logout",
    ):
        assert f'"$API{path}"' in code, path
    doc_pages.assert_outputs_shown(PAGE)


def test_matches() -> None:
    assert doc_pages.matches('{"id": ..., "a": 1}', '{"id": 12, "a": 1}\n')
    assert not doc_pages.matches('{"id": ..., "a": 1}', '{"id": 12, "a": 2}')
    assert not doc_pages.matches("401", "200")


@pytest.mark.django_db(transaction=True)
def test_the_curl_examples_work(live_server: Any) -> None:
    doc_pages.run_walkthrough(PAGE, env={"API": f"{live_server.url}/api"})
