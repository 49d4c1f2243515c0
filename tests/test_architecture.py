"""The layers drawn in docs/architecture.md are the layers of the code.

The table between ``<!-- layers -->`` markers lists each layer, top first, with the
top-level modules of ``nexus_shop`` it holds. A module may import its own layer and the
layers below it. Every import counts, including those inside functions (a lazy import
is still a dependency); migrations are left out, as they are frozen history.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nexus_shop

PACKAGE = Path(nexus_shop.__file__).resolve().parent
DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def drawn_layers() -> dict[str, int]:
    """Top-level module name -> its layer's number, as the page draws them."""
    text = DOC.read_text()
    table = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    layers: dict[str, int] = {}
    for number, modules in re.findall(r"^\| (\d+) \| [^|]+ \| ([^|]+) \|", table, re.M):
        for name in re.findall(r"`(\w+)`", modules):
            assert name not in layers, f"{name} is drawn in two layers"
            layers[name] = int(number)
    return layers


def top_level(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def source_files() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.relative_to(PACKAGE).parts
        and path.relative_to(PACKAGE).as_posix() != "__init__.py"
    ]


def imported(path: Path) -> set[str]:
    """The top-level ``nexus_shop`` modules ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "nexus_shop":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("nexus_shop."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("nexus_shop."):
                    found.add(alias.name.split(".")[1])
    return found


def test_every_module_is_in_one_drawn_layer() -> None:
    layers = drawn_layers()
    modules = {top_level(path) for path in source_files()}
    assert modules - layers.keys() == set(), "modules missing from docs/architecture.md"
    assert layers.keys() - modules == set(), "docs/architecture.md names modules that are gone"


def test_no_module_imports_a_layer_above_its_own() -> None:
    layers = drawn_layers()
    upward = [
        f"{path.relative_to(PACKAGE)} (layer {layers[top_level(path)]}) imports "
        f"{target} (layer {layers[target]})"
        for path in source_files()
        for target in sorted(imported(path))
        if target in layers and layers[target] < layers[top_level(path)]
    ]
    assert upward == []


def test_the_check_sees_lazy_imports() -> None:
    # services/checkout.py reads visibility from the selectors, a layer below: allowed;
    # and the wiring layer imports the routers inside functions too.
    checkout = PACKAGE / "services" / "checkout.py"
    assert "selectors" in imported(checkout)
    assert "routers" in imported(PACKAGE / "openapi.py")
