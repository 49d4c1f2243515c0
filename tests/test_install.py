"""The installable-library promise, end to end.

Build the wheel of this repository, install it WITHOUT extras into a brand-new virtualenv
(so no cachalot, redis or psycopg), start a project with ``django-admin startproject``,
add nexus_shop in a few lines of settings and urls, migrate, and call the API.

Slow (it installs from the package index); the nox ``tests`` session runs it once per
Python (``NEXUS_SHOP_INSTALL_TEST=0`` skips it). Uses ``uv`` when it is installed (the
Python package or on ``PATH``), else the standard library's ``venv`` and pip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.support import processes

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("NEXUS_SHOP_INSTALL_TEST") == "0",
        reason="NEXUS_SHOP_INSTALL_TEST=0 (runs once per Python, in the SQLite session)",
    ),
]

# What a host adds: three apps to INSTALLED_APPS and one line to urls.py.
SETTINGS_LINES = """
INSTALLED_APPS += ["ninja_jwt", "ninja_jwt.token_blacklist", "nexus_shop"]
"""
URLS_LINES = """
from nexus_shop.api import api  # noqa: E402

urlpatterns += [path("api/", api.urls)]
"""

PROBE = """
import importlib.util, json
from django.test import Client
from django.test.utils import setup_test_environment
import nexus_shop

setup_test_environment()  # lets the test Client's "testserver" host in
client = Client()
health = client.get("/api/health")
products = client.get("/api/products")
print(json.dumps({
    "nexus_shop": nexus_shop.__file__,
    "absent": [m for m in ("cachalot", "redis", "psycopg") if importlib.util.find_spec(m) is None],
    "health": [health.status_code, health.json()],
    "products": [products.status_code, products.json()],
}))
"""

# The parent's test settings, source path and databases must not leak into the new venv.
LEAKY = {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DATABASE_URL",
         "REDIS_URL", "CONDA_PREFIX"}  # fmt: skip


def uv_binary() -> str | None:
    if importlib.util.find_spec("uv") is not None:
        from uv import find_uv_bin

        return str(find_uv_bin())
    return shutil.which("uv")


def run(*args: str | Path, cwd: Path, env: dict[str, str]) -> str:
    return processes.run(*args, cwd=cwd, env=env).stdout


def test_wheel_installs_without_extras_into_a_fresh_project(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    python = venv / "bin" / "python"

    uv = uv_binary()
    if uv is not None:  # fast path
        build = ["build", "--wheel", "--out-dir", str(dist), "--python", sys.executable, str(ROOT)]
        run(uv, *build, cwd=tmp_path, env=env)
        run(uv, "venv", "--python", sys.executable, venv, cwd=tmp_path, env=env)
        (wheel,) = dist.glob("nexus_shop-*.whl")
        run(uv, "pip", "install", "--python", python, wheel, cwd=tmp_path, env=env)
    else:  # the standard library's venv and pip: slower, same result
        run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=env)
        pip: list[str | Path] = [python, "-m", "pip", "--disable-pip-version-check", "--quiet"]
        run(*pip, "wheel", "--no-deps", "--wheel-dir", dist, ROOT, cwd=tmp_path, env=env)
        (wheel,) = dist.glob("nexus_shop-*.whl")
        run(*pip, "install", wheel, cwd=tmp_path, env=env)

    site = tmp_path / "site"
    site.mkdir()
    run(venv / "bin" / "django-admin", "startproject", "host", site, cwd=tmp_path, env=env)
    with (site / "host" / "settings.py").open("a") as settings:
        settings.write(SETTINGS_LINES)
    with (site / "host" / "urls.py").open("a") as urls:
        urls.write(URLS_LINES)

    run(python, "manage.py", "migrate", "--noinput", cwd=site, env=env)
    run(python, "manage.py", "check", "--fail-level", "WARNING", cwd=site, env=env)
    output = run(python, "manage.py", "shell", "-c", PROBE, cwd=site, env=env)
    probe = json.loads(output.strip().splitlines()[-1])

    assert Path(probe["nexus_shop"]).is_relative_to(venv), "imported the source, not the wheel"
    assert probe["absent"] == ["cachalot", "redis", "psycopg"]
    assert probe["health"] == [200, {"status": "ok", "database": "ok", "cache": "ok"}]
    status, body = probe["products"]
    assert status == 200
    assert body["items"] == []
