"""The example project served by uvicorn in a process of its own, for the heavy tests.

It runs with ``DEBUG`` off and real keys, on the suite's test database (or a proxy in
front of it) and on a private ``redis-server``, exactly as a host would run it.
``settings`` may name a module that imports the example's settings and changes one thing
(``tests.heavy.fuzz_settings``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from tests.support.ports import listening_socket
from tests.support.processes import ROOT, Server, serve

SECRET_KEY = "heavy-tests-secret-key-" + "q8W2e4R6t8Y0u2I4o6P8" * 2
JWT_SIGNING_KEY = "heavy-tests-jwt-key-" + "m1N3b5V7c9X1z3L5k7J9" * 2


def database_url(
    settings_dict: dict[str, Any], *, host: str | None = None, port: int | None = None
) -> str:
    """A ``postgres://`` URL for Django's (test) database ``settings_dict``."""
    user = quote(settings_dict.get("USER") or "postgres")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}" if password else user
    host = host or settings_dict.get("HOST") or "127.0.0.1"
    port = port or int(settings_dict.get("PORT") or 5432)
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


@contextmanager
def example_server(
    *, database_url: str, redis_url: str, settings: str = "example_project.settings"
) -> Iterator[Server]:
    listener = listening_socket()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,  # pytest-django set the suite's own
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "JWT_SIGNING_KEY": JWT_SIGNING_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    args = [
        sys.executable, "-m", "uvicorn", "example_project.asgi:application",
        "--app-dir", "example_project", "--fd", str(listener.fileno()), "--no-access-log",
    ]  # fmt: skip
    with serve(args, listener=listener, env=env) as server:
        yield server
