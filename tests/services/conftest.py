"""Fixtures of the service tests: what the invalidation hook was told, in order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nexus_shop import invalidation


@pytest.fixture
def changes() -> Iterator[list[invalidation.Change]]:
    """Every change the invalidation listeners receive during the test (after commit)."""
    seen: list[invalidation.Change] = []
    invalidation.connect(seen.append)
    try:
        yield seen
    finally:
        invalidation.disconnect(seen.append)
