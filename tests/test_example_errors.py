"""The example project with DEBUG off: no error under /api/ is HTML or text, no path a 500.

Runs the ASGI entry point in a subprocess (the example's own settings), as uvicorn would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.support.ports import refused_port
from tests.test_example_settings import ASGI_PROBE, ENV_VARS, ROOT

# The suite's ASGI probe, with a Host header of the caller's choice (argv[1]).
PROBE = ASGI_PROBE.replace('(b"host", b"localhost")', '(b"host", sys.argv[1].encode())').replace(
    "sys.argv[1:]", "sys.argv[2:]"
)


def _probe(*paths: str, host: str = "localhost", **env: str) -> list[tuple[int, str]]:
    environ = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    environ.pop("DJANGO_SETTINGS_MODULE")
    environ.update(
        DEBUG="0",
        SECRET_KEY="example-errors-test-secret-key-" + "x" * 40,
        JWT_SIGNING_KEY="example-errors-test-jwt-key-" + "y" * 40,
        ALLOWED_HOSTS="localhost",
        **env,
    )
    result = subprocess.run(  # noqa: S603  (our interpreter, our script)
        [sys.executable, "-c", PROBE, host, *paths],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers: list[Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return [(status, body) for status, body in answers]


def test_a_static_path_escaping_the_roots_is_a_404_not_a_500(tmp_path: Any) -> None:
    # It was SuspiciousFileOperation escaping Django's ASGIStaticFilesHandler: uvicorn's text
    # 500. WhiteNoise serves /static/ now and never resolves such a path to a file: Django
    # answers it as any unknown path.
    ((status, _body),) = _probe("/static/../x", DATABASE_URL=f"sqlite:///{tmp_path / 'db'}")
    assert status == 404


def test_an_unreachable_database_is_a_json_503_under_the_api() -> None:
    # Nothing listens on the port: psycopg's pool gives up after POOL_TIMEOUT (5 s). It was
    # Django's HTML 500.
    with refused_port() as port:
        url = f"postgres://nobody@127.0.0.1:{port}/nowhere"
        (products, unknown) = _probe("/api/products", "/api/nowhere", DATABASE_URL=url)
    assert products[0] == 503
    body = json.loads(products[1])
    assert body["errors"] == []
    assert "database" in body["detail"].lower()
    assert unknown[0] == 404
    assert json.loads(unknown[1])["detail"].startswith("No endpoint")


def test_errors_django_answers_around_the_api_are_json_under_it(tmp_path: Any) -> None:
    # A Host not in ALLOWED_HOSTS: Django's 400 (DisallowedHost), before the API runs.
    database = f"sqlite:///{tmp_path / 'db'}"
    ((api_status, api_body), (admin_status, admin_body)) = _probe(
        "/api/products", "/admin/login/", host="evil.example", DATABASE_URL=database
    )
    assert api_status == 400
    assert json.loads(api_body) == {"detail": "Bad request.", "errors": []}
    assert admin_status == 400
    assert not admin_body.startswith("{")  # outside the API, Django's own page
