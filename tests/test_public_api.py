"""The public API a host relies on: documented in one place, and still there.

docs/public-api.md lists the importable names; ``nexus_shop.__init__``'s docstring lists
them too. Each must import; the two lists must agree; every documented setting must have
its ``conf`` property and every documented check id must still be emitted.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import nexus_shop

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def documented_names() -> list[str]:
    text = (DOCS / "public-api.md").read_text()
    section = text.split("<!-- public-names -->")[1].split("<!-- /public-names -->")[0]
    return re.findall(r"^\| `(nexus_shop(?:\.\w+)+)`", section, flags=re.MULTILINE)


def resolve(dotted: str) -> object:
    """Import the longest importable module prefix, then walk attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(dotted)


def test_the_docs_list_the_public_names() -> None:
    names = documented_names()
    assert len(names) >= 13
    assert "nexus_shop.api.api" in names


@pytest.mark.parametrize("name", documented_names())
def test_each_documented_name_exists(name: str) -> None:
    assert resolve(name) is not None


def test_the_package_docstring_lists_the_same_names() -> None:
    docstring = nexus_shop.__doc__ or ""
    for name in documented_names():
        module, _, attribute = name.rpartition(".")
        # Either in full, or as a name under its module's bullet.
        listed = f"``{name}``" in docstring or (
            f"``{module}``" in docstring and f"``{attribute}``" in docstring
        )
        assert listed, f"{name} is in docs/public-api.md but not in nexus_shop's docstring"


def test_the_package_module_imports_nothing() -> None:
    """``import nexus_shop`` must work before Django is configured: no imports at all."""
    tree = ast.parse(inspect.getsource(nexus_shop))
    assert not [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]


def test_every_documented_setting_has_its_typed_accessor() -> None:
    from nexus_shop.conf import conf

    names = re.findall(r"^### `NEXUS_SHOP_(\w+)`", (DOCS / "settings.md").read_text(), re.M)
    assert len(names) >= 8
    for name in names:
        assert hasattr(type(conf), name), f"NEXUS_SHOP_{name} is documented but not in conf"
        getattr(conf, name)


def test_every_documented_check_id_is_still_emitted() -> None:
    """The ids come from one table (tests/test_checks.py: each one is used by a check)."""
    from nexus_shop.checks import CheckId

    ids = set(re.findall(r"^`(nexus_shop\.[EW]\d{3})`", (DOCS / "checks.md").read_text(), re.M))
    assert ids == {check.id for check in CheckId}
