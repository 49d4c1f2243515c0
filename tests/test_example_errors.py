"""The example project with DEBUG off: no error under /api/ is HTML or text, no path a 500.

Runs the ASGI entry point in a subprocess (the example's own settings), as uvicorn would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.ports import refused_port
from tests.test_example_settings import ASGI_PROBE, ENV_VARS, ROOT


def _example_env(**env: str) -> dict[str, str]:
    """The example's environment with DEBUG off (and its own settings module)."""
    environ = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    environ.pop("DJANGO_SETTINGS_MODULE")
    environ.update(
        DEBUG="0",
        SECRET_KEY="example-errors-test-secret-key-" + "x" * 40,
        JWT_SIGNING_KEY="example-errors-test-jwt-key-" + "y" * 40,
        ALLOWED_HOSTS="localhost",
        **env,
    )
    return environ


def _probe(*paths: str, host: str = "localhost", **env: str) -> list[tuple[int, str]]:
    environ = _example_env(PROBE_HOST=host, **env)
    result = subprocess.run(  # noqa: S603  (our interpreter, our script)
        [sys.executable, "-c", ASGI_PROBE, *paths],
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


def _named(body: dict[str, Any]) -> dict[str, Any]:
    """The body without its ``request_id``, which the example's observability adds."""
    request_id = body.pop("request_id")
    assert isinstance(request_id, str)
    assert len(request_id) == 32
    return body


def test_errors_django_answers_around_the_api_are_json_under_it(tmp_path: Any) -> None:
    # A Host not in ALLOWED_HOSTS: Django's 400 (DisallowedHost), before the API runs.
    database = f"sqlite:///{tmp_path / 'db'}"
    ((api_status, api_body), (admin_status, admin_body)) = _probe(
        "/api/products", "/admin/login/", host="evil.example", DATABASE_URL=database
    )
    assert api_status == 400
    assert _named(json.loads(api_body)) == {"detail": "Bad request.", "errors": []}
    assert admin_status == 400
    assert not admin_body.startswith("{")  # outside the API, Django's own page


# Requests of any method through both of the example's entry points, WSGI (its default,
# granian) and ASGI, with every middleware of its settings (CSRF's included). Reads a JSON
# list of [method, path, headers] from argv[1]; prints [[status, content type, body], ...]
# for WSGI, then the same for ASGI.
METHOD_PROBE = """
import asyncio, io, json, sys
sys.path.insert(0, "example_project")
from example_project.asgi import application as asgi_app
from example_project.wsgi import application as wsgi_app
from tests.support.asgi import asgi_request

BODY = b"{}"

def wsgi(method, path, headers):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "localhost", "SERVER_PORT": "8000", "HTTP_HOST": "localhost",
               "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(BODY),
               "wsgi.errors": sys.stderr, "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": str(len(BODY))}
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answer = {}
    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)
    body = b"".join(wsgi_app(environ, start_response))
    return [answer["status"], answer["headers"].get("Content-Type"), body.decode()]

async def asgi(method, path, headers):
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    status, response_headers, body = await asgi_request(
        asgi_app, method, path, headers=raw, body=BODY
    )
    return [status, response_headers.get("content-type"), body.decode()]

async def main(requests):
    return [await asgi(*request) for request in requests]

requests = json.loads(sys.argv[1])
print(json.dumps([[wsgi(*request) for request in requests], asyncio.run(main(requests))]))
"""

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
# Any bearer token: the API reads it only in an operation that takes one.
TOKENS = {"anonymous": {}, "bearer": {"Authorization": "Bearer not-checked-on-this-path"}}
REQUESTS = [
    *[(method, "/api/nowhere/1", token) for method in METHODS for token in TOKENS],
    *[(method, "/api/categories", token) for method in ("PUT", "DELETE") for token in TOKENS],
    *[("POST", page, token) for page in ("/api/", "/api/openapi.json") for token in TOKENS],
]


@pytest.fixture(scope="module")
def example_answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each of REQUESTS sent once to the example's WSGI and ASGI applications (one process)."""
    database = f"sqlite:///{Path(tmp_path_factory.mktemp('example')) / 'db'}"
    requests = [[method, path, TOKENS[token]] for method, path, token in REQUESTS]
    result = subprocess.run(  # noqa: S603  (our interpreter, our script)
        [sys.executable, "-c", METHOD_PROBE, json.dumps(requests)],
        cwd=ROOT,
        env=_example_env(DATABASE_URL=database),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    wsgi, asgi = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        f"{server} {method} {path} {token}": answer
        for server, answers in (("wsgi", wsgi), ("asgi", asgi))
        for (method, path, token), answer in zip(REQUESTS, answers, strict=True)
    }


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
@pytest.mark.parametrize("token", list(TOKENS))
@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_api_path_is_the_json_404_for_every_method_in_the_example(
    example_answers: dict[str, Any], server: str, method: str, token: str
) -> None:
    # Behind the example's CsrfViewMiddleware a write was Django's HTML 403.
    status, content_type, body = example_answers[f"{server} {method} /api/nowhere/1 {token}"]
    assert (status, content_type) == (404, "application/json; charset=utf-8"), body
    if method != "HEAD":
        assert _named(json.loads(body)) == {
            "detail": "No endpoint at /api/nowhere/1.",
            "errors": [],
        }


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
@pytest.mark.parametrize("token", list(TOKENS))
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/categories"),
        ("DELETE", "/api/categories"),
        *[("POST", p) for p in ("/api/", "/api/openapi.json")],
    ],
)
def test_a_wrong_method_is_the_json_405_in_the_example(
    example_answers: dict[str, Any], server: str, method: str, path: str, token: str
) -> None:
    status, content_type, body = example_answers[f"{server} {method} {path} {token}"]
    assert (status, content_type) == (405, "application/json; charset=utf-8"), body
    assert _named(json.loads(body)) == {"detail": "Method not allowed.", "errors": []}
