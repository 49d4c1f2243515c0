"""The suite's shared harness: one of each, used by every test that needs it.

- :mod:`ports`: a listening socket to hand to a server, or a free port below the kernel's
  ephemeral range and a retry when another process took it first; a port that refuses.
- :class:`redis_server.RedisServer` / :func:`redis_server.running_redis`: a private
  ``redis-server`` on its own port, to stop, pause, fill or restart. Never the shared one.
- :class:`postgres_server.PostgresServer` / :func:`postgres_server.running_postgres`: a
  private PostgreSQL cluster (initdb) on its own port, to restart or stop; a database
  with the suite's schema in it (``copy_schema``), and this process's Django connection
  pointed there (:func:`postgres_server.django_connected_to`). Never the shared one.
- :func:`wait_until`: poll an observable condition (never a fixed sleep).
- :func:`race.race`: run callables at the same moment, one thread (and DB connection) each.
- :func:`asgi.asgi_request`: one request to an ASGI application in-process (the example's
  probes run it in a subprocess).
- :func:`processes.run` / :func:`processes.serve` / :func:`processes.serve_on_free_port`: a
  checked subprocess, and a server process that is up (it answers) before the test goes on
  and is always stopped afterwards; :func:`processes.background`: a process that serves no
  port (a webhook worker), to SIGTERM or SIGKILL.
- :class:`webhook_receiver.Receiver`: a local webhook receiver that records every request
  and answers as its path says (``/ok``, ``/status/503``, ``/drip``, ``/huge``...);
  :func:`webhooks.deliver_due`: one delivery pass by hand.

A missing binary (``redis-server``, ``varnishd``...) skips the test on a developer's machine
and fails it in CI (``CI=true``), where the scripts install everything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_binary(name: str) -> str:
    """The path of ``name`` on PATH; skip (locally) or fail (in CI) when it is missing."""
    import shutil

    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if CI:
            pytest.fail(f"{message} (CI must have it: see .ci/run)")
        pytest.skip(message)
    return path


def wait_until(condition: Callable[[], object], what: str, *, timeout: float = 60) -> None:
    """Poll ``condition`` until it is true. ``timeout`` only keeps a broken run from hanging
    (a TimeoutError naming ``what``); it is not part of what a test asserts."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: still not the case after {timeout} s")
        time.sleep(0.02)
