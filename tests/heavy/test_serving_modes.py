"""The example project served for real, in each serving mode it documents.

Each mode starts as a live server process on a migrated and seeded database, with DEBUG
off (as in production), and must answer the product list, Swagger UI and its assets, and the
static files that the admin loads. The WSGI handler serves no files of its own: WhiteNoise
does, in every mode. The default mode's command line is read from the Dockerfile, so the
image's command is the one tested.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support import processes

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example_project"
KEYS = {
    "SECRET_KEY": "serving-test-" + "a1B2c3D4e5F6g7H8i9J0" * 3,
    "JWT_SIGNING_KEY": "serving-jwt-" + "Z9y8X7w6V5u4T3s2R1q0" * 3,
}


def dockerfile_server_command() -> list[str]:
    """The server half of the Dockerfile's ``CMD`` ("migrate && exec <server ...>")."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    cmd = [line for line in text.splitlines() if line.startswith("CMD ")][-1]
    script = yaml.safe_load(cmd.removeprefix("CMD "))[-1]
    serve = shlex.split(script.partition("&&")[2])
    assert serve[0] == "exec"
    return serve[1:]


def on_port(command: list[str], port: int) -> list[str]:
    """``command`` (a console script) run with this interpreter, on 127.0.0.1:``port``."""
    args = [sys.executable, "-m", command[0], *command[1:]]
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    return args


def server_commands() -> dict[str, list[str]]:
    return {
        # The default: the Docker image's command, as is.
        "granian WSGI (Dockerfile)": dockerfile_server_command(),
        # For hosts that need ASGI (docs/deployment.md).
        "uvicorn ASGI": [
            "uvicorn",
            "example_project.asgi:application",
            "--app-dir",
            "example_project",
        ],
    }


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], int]:
    """The example project's environment, on a fresh SQLite file migrated and seeded with 30
    products, and how many of them are public."""
    database = tmp_path_factory.mktemp("serving") / "example.sqlite3"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DEBUG="0",
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL="",
        ALLOWED_HOSTS="127.0.0.1",
        **KEYS,
    )
    manage: list[str | Path] = [sys.executable, EXAMPLE / "manage.py"]
    processes.run(*manage, "migrate", "--noinput", "-v", "0", env=env)
    processes.run(*manage, "nexus_shop_seed", "--products", "30", "--categories", "3", env=env)
    with sqlite3.connect(database) as conn:
        (public,) = conn.execute(
            "SELECT count(*) FROM nexus_shop_product WHERE is_active AND deleted_at IS NULL"
        ).fetchone()
    return env, public


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310  (loopback http)
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


@pytest.mark.parametrize("mode", list(server_commands()))
def test_each_serving_mode_serves_the_api_the_docs_and_static_files(
    mode: str, example: tuple[dict[str, str], int]
) -> None:
    environ, public = example
    command = server_commands()[mode]
    with processes.serve_on_free_port(
        lambda port: on_port(command, port), env=environ, startup_timeout=60
    ) as server:
        status, headers, body = get(f"{server.url}/api/products?page_size=20")
        assert status == 200, server.output()
        page = json.loads(body)
        assert public > 20
        assert len(page["items"]) == 20
        assert page["count"] == public
        assert headers["content-type"].startswith("application/json")

        status, _, body = get(f"{server.url}/api/docs")
        assert status == 200
        # Swagger UI's assets come from the API itself (no CDN, no "ninja" app needed).
        assert b"/api/docs/assets/swagger-ui-bundle.js" in body

        status, headers, body = get(f"{server.url}/api/docs/assets/swagger-ui-bundle.js")
        assert status == 200
        assert b"SwaggerUIBundle" in body
        assert "javascript" in headers["content-type"]

        status, headers, body = get(f"{server.url}/static/admin/css/base.css")
        assert status == 200
        assert headers["content-type"].startswith("text/css")
        assert body
