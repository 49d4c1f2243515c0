"""docs/auth.md's curl walk-through, run for real against a live server.

Every ```bash block of the page runs, in order, in one bash process (so shell variables
such as ``$ACCESS`` carry from one block to the next) with ``API`` pointing at
pytest-django's live server. When a ```text block follows a bash block, it is what that
block prints; ``...`` in it stands for any text (ids differ between databases).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes, require_binary

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "auth.md"

FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MARK = "@@nexus-shop-docs-block@@"

# docs/ ships in the sdist (pyproject's sdist include), so these always run: a missing
# page or sample is a failure, not a skip.


def blocks() -> list[tuple[str, str | None]]:
    """``(bash code, expected output or None)`` for each bash block of the page."""
    fences = [(m.group(1), m.group(2)) for m in FENCE.finditer(PAGE.read_text())]
    found = []
    for i, (language, body) in enumerate(fences):
        if language != "bash":
            continue
        following = fences[i + 1] if i + 1 < len(fences) else None
        expected = following[1] if following and following[0] == "text" else None
        found.append((body, expected))
    return found


def matches(expected: str, actual: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in expected.strip().split("..."))
    return re.fullmatch(pattern, actual.strip(), re.DOTALL) is not None


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
    assert sum(expected is not None for _, expected in blocks()) >= 8


def test_matches() -> None:
    assert matches('{"id": ..., "a": 1}', '{"id": 12, "a": 1}\n')
    assert not matches('{"id": ..., "a": 1}', '{"id": 12, "a": 2}')
    assert not matches("401", "200")


@pytest.mark.django_db(transaction=True)
def test_the_curl_examples_work(live_server: Any) -> None:
    bash = require_binary("bash")
    require_binary("curl")
    require_binary("python3")
    examples = blocks()
    script = "set -euo pipefail\n" + "".join(f"{body}\necho '{MARK}'\n" for body, _ in examples)
    result = processes.run(
        bash, "-c", script, env={**os.environ, "API": f"{live_server.url}/api"}, timeout=120
    )
    outputs = result.stdout.split(f"{MARK}\n")
    assert len(outputs) == len(examples) + 1  # the last "block" is what follows the last mark
    for (body, expected), output in zip(examples, outputs, strict=False):
        if expected is not None:
            assert matches(expected, output), (body, expected, output)
