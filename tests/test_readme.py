"""The README's Quickstart, run as written: a new user's first hour, end to end.

Takes the code blocks of README.md's "Quickstart" section, in order, and runs them in one
bash script in an empty directory: a fresh virtualenv, ``pip install``, ``startproject``,
the settings and urls lines appended to the files their first line names, ``migrate``,
``createsuperuser``, the server, and the curl calls that log in, create a category and a
product and list them. Three substitutions, and nothing else:

- ``pip install nexus-shop`` installs the wheel built from this tree instead of PyPI's;
- the server runs in the background (``--noreload``, on a free port, or another if that
  one was taken meanwhile), where the README says "in a second terminal";
- ``127.0.0.1:8000`` becomes that port.

Slow (pip installs Django and friends from the index): the nox ``tests`` session runs it
once per Python, with tests/test_install.py (``NEXUS_SHOP_INSTALL_TEST=0`` skips it).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import processes
from tests.support.ports import PortInUse, address_in_use, on_free_port
from tests.test_install import LEAKY, uv_binary

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("NEXUS_SHOP_INSTALL_TEST") == "0",
        reason="NEXUS_SHOP_INSTALL_TEST=0 (runs once per Python, in the SQLite session)",
    ),
]

BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def quickstart_blocks(readme: str) -> list[tuple[str, str]]:
    """The (language, code) blocks of the README's "## Quickstart..." section, in order."""
    start = readme.index("\n## Quickstart")
    end = readme.find("\n## ", start + 1)
    section = readme[start : end if end != -1 else None]
    # Sub-sections (### ...) are reference material for other setups, not steps.
    section = section.split("\n### ", 1)[0]
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(section)]


def as_script(blocks: list[tuple[str, str]], *, wheel: Path, port: int) -> str:
    lines = ["set -euo pipefail"]
    for language, code in blocks:
        if language == "python":
            target, _, body = code.partition("\n")
            assert re.fullmatch(r"# [\w/]+\.py", target), f"name the file first: {target!r}"
            lines += [f"cat >> {target[2:]} <<'README_EOF'", body.rstrip("\n"), "README_EOF"]
            continue
        for original in code.splitlines():
            line = original.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            if line.strip() == "pip install nexus-shop":
                line = f"pip install {wheel}"
            if line.strip() == "python manage.py runserver":
                lines += [
                    f"python manage.py runserver 127.0.0.1:{port} --noreload > server.log 2>&1 &",
                    "SERVER=$!",
                    "trap 'kill $SERVER' EXIT",
                    f"for _ in $(seq 150); do curl -s -o /dev/null 127.0.0.1:{port}/api/health"
                    " && break; kill -0 $SERVER 2>/dev/null || break; sleep 0.2; done",
                    "kill -0 $SERVER 2>/dev/null || { cat server.log >&2; exit 1; }",
                ]
                continue
            lines.append(line)
    return "\n".join(lines) + "\n"


def test_the_quickstart_blocks_are_there() -> None:
    blocks = quickstart_blocks((ROOT / "README.md").read_text())
    code = "\n".join(code for _, code in blocks)
    for step in (
        "pip install nexus-shop",
        "django-admin startproject mysite .",
        "# mysite/settings.py",
        "# mysite/urls.py",
        "python manage.py migrate",
        "createsuperuser",
        "python manage.py runserver",
        "/api/auth/token",
        "/api/categories",
        "/api/products",
    ):
        assert step in code


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.pop("JWT_SIGNING_KEY", None)
    dist = tmp_path / "dist"
    uv = uv_binary()
    if uv is not None:
        build: list[str | Path] = [
            "build",
            "--wheel",
            "--out-dir",
            dist,
            "--python",
            sys.executable,
            ROOT,
        ]
        processes.run(uv, *build, cwd=tmp_path, env={**env, "UV_PYTHON_DOWNLOADS": "never"})
    else:
        pip = [sys.executable, "-m", "pip", "--quiet"]
        processes.run(*pip, "wheel", "--no-deps", "--wheel-dir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("nexus_shop-*.whl")

    def quickstart(port: int) -> tuple[Path, str]:
        """The script run in a new directory (the project's, and the script's output);
        :class:`PortInUse` if another process took runserver's port first."""
        work = tmp_path / f"quickstart-{port}"
        project = work / "project"
        project.mkdir(parents=True)
        blocks = quickstart_blocks((ROOT / "README.md").read_text())
        (work / "quickstart.sh").write_text(as_script(blocks, wheel=wheel, port=port))
        result = processes.run(
            "bash", work / "quickstart.sh", cwd=project, env=env, timeout=600, check=False
        )
        if result.returncode != 0 and address_in_use(result.stderr):
            raise PortInUse(result.stderr)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        return project, result.stdout

    project, stdout = on_free_port(quickstart)

    answers: list[Any] = [
        json.loads(line) for line in stdout.splitlines() if line.startswith(("{", "["))
    ]
    created, categories, products = answers[-3:]
    assert created["name"] == "Cast-iron teapot"
    assert created["price"] == "39.90"
    category = created["category"]
    assert category["name"] == "Teapots"
    items = categories["items"] if isinstance(categories, dict) else categories
    assert [(c["name"], c["product_count"]) for c in items] == [("Teapots", 1)]
    assert products["count"] == 1
    assert products["items"][0]["sku"] == "TEA-001"
    assert products["items"][0]["category"]["id"] == category["id"]

    # The same project without the key: a named system check error, not a traceback.
    python = project / ".venv" / "bin" / "python"
    check = processes.run(python, "manage.py", "check", cwd=project, env=env, check=False)
    assert check.returncode == 1
    assert "nexus_shop.E012" in check.stderr
    assert "JWT_SIGNING_KEY" in check.stderr
    assert "Traceback" not in check.stderr
