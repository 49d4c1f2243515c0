"""Run a docs page's curl walk-through for real.

Every ```bash block of the page runs, in order, in one bash process; a ```text block right
after a bash block is what that block prints, with ``...`` standing for any text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from tests.support import processes, require_binary

FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MARK = "@@nexus-shop-docs-block@@"


def blocks(page: Path) -> list[tuple[str, str | None]]:
    """``(bash code, expected output or None)`` for each bash block of ``page``."""
    fences = [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text())]
    found = []
    for i, (language, body) in enumerate(fences):
        if language != "bash":
            continue
        following = fences[i + 1] if i + 1 < len(fences) else None
        expected = following[1] if following and following[0] == "text" else None
        found.append((body, expected))
    return found


def prints(body: str) -> bool:
    """Whether a bash block shows the reader something: a command at the start of a line
    (not inside a ``VAR=$(...)`` capture) that writes to the terminal."""
    return any(line.startswith(("curl ", "echo ", "printf ")) for line in body.splitlines())


def assert_outputs_shown(page: Path) -> None:
    """The page's contract with its reader: every bash block that prints is followed by
    what it prints, and only those are."""
    examples = blocks(page)
    assert examples
    for body, expected in examples:
        assert prints(body) == (expected is not None), body


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is ``expected``, each ``...`` in it standing for any text."""
    pattern = ".*?".join(re.escape(part) for part in expected.strip().split("..."))
    return re.fullmatch(pattern, actual.strip(), re.DOTALL) is not None


def run_walkthrough(page: Path, *, env: Mapping[str, str]) -> None:
    """Run ``page``'s bash blocks with ``env`` added; assert each documented output."""
    bash = require_binary("bash")
    require_binary("curl")
    require_binary("python3")
    examples = blocks(page)
    script = "set -euo pipefail\n" + "".join(f"{body}\necho '{MARK}'\n" for body, _ in examples)
    result = processes.run(bash, "-c", script, env={**os.environ, **env}, timeout=120)
    outputs = result.stdout.split(f"{MARK}\n")
    assert len(outputs) == len(examples) + 1  # the last "block" is what follows the last mark
    for (body, expected), output in zip(examples, outputs, strict=False):
        if expected is not None:
            assert matches(expected, output), (body, expected, output)
