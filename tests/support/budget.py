"""The query budget of docs/architecture.md, read from the page: the one place it is written.

The table between ``<!-- query-budget -->`` markers gives each public read (named by its
read kind, :class:`nexus_shop.http_cache.reads.ReadKind`) the most SQL statements it may
run. :func:`data_statements` counts what a request ran the way the table does: without the
statements that only set a search's planner options and read its dictionaries.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.test.utils import CaptureQueriesContext

from nexus_shop.selectors.search import PLAN_SETTING

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def budgets() -> dict[str, int]:
    """Read kind -> the most statements it may run, as the page writes them."""
    table = DOC.read_text().split("<!-- query-budget -->")[1].split("<!-- /query-budget -->")[0]
    found = {kind: int(n) for kind, n in re.findall(r"^\| `([\w-]+)` \| (\d+) \|", table, re.M)}
    assert found, "no budget rows found in docs/architecture.md"
    return found


def budget(kind: str) -> int:
    """The most statements read ``kind`` may run."""
    return budgets()[kind]


def data_statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements that count against the budget: not a search's planner settings."""
    return [q["sql"] for q in captured.captured_queries if PLAN_SETTING not in q["sql"]]
