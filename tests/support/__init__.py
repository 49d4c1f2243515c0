"""The suite's shared harness: one of each, used by every test that needs it.

- :func:`ports.free_port`: a TCP port nothing listens on.
- :class:`redis_server.RedisServer` / :func:`redis_server.running_redis`: a private
  ``redis-server`` on its own port, to stop, pause, fill or restart. Never the shared one.
- :func:`race.race`: run callables at the same moment, one thread (and DB connection) each.
- :func:`processes.run` / :func:`processes.serve`: a checked subprocess, and a server process
  that is up (its port answers) before the test goes on and is always stopped afterwards.

A missing binary (``redis-server``, ``varnishd``...) skips the test on a developer's machine
and fails it in CI (``CI=true``), where the scripts install everything.
"""

from __future__ import annotations

import os

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
