"""The heavy tests need the ``heavy`` dependency group (schemathesis, uvicorn, requests).

``nox -s tests`` does not install it and deselects them anyway (``-m "not heavy"``), so
there they are not even collected. Asked for explicitly (``-m heavy``, as ``nox -s heavy``
does), a missing package is the ImportError it should be.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HEAVY_PACKAGES = ("requests", "schemathesis", "uvicorn")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if config.getoption("markexpr", "").strip() == "heavy":
        return None
    if all(importlib.util.find_spec(name) for name in HEAVY_PACKAGES):
        return None
    return True
