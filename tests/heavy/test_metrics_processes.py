"""Two live uvicorn workers, one PROMETHEUS_MULTIPROC_DIR: a scrape of either reports both.

Requests go to whichever worker accepts them; the directory shows both workers wrote
their values, and every scrape (whichever worker answers it) reports the total of all
requests: counters summed across processes, not one worker's share.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.heavy.example_server import JWT_SIGNING_KEY, SECRET_KEY
from tests.support.ports import listening_socket
from tests.support.processes import ROOT, serve

pytestmark = pytest.mark.heavy

TOKEN = "heavy-metrics-token-" + "z7X5c3V1b9N7m5" * 2
REQUESTS = 40


def _get(url: str, **headers: str) -> bytes:
    request = urllib.request.Request(url, headers={"Connection": "close", **headers})  # noqa: S310  (our own server)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body: bytes = response.read()
        return body


def _live_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "nexus_shop_http_requests_total"
                and sample.labels.get("operation") == "health_live"
            ):
                return sample.value
    return 0.0


def test_a_scrape_of_any_worker_sums_both(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    listener = listening_socket()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "JWT_SIGNING_KEY": JWT_SIGNING_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    args = [
        sys.executable, "-m", "uvicorn", "example_project.asgi:application",
        "--app-dir", "example_project", "--fd", str(listener.fileno()),
        "--workers", "2", "--no-access-log",
    ]  # fmt: skip
    with serve(args, listener=listener, env=env, startup_timeout=60) as server:
        before = _live_count(
            _get(f"{server.url}/metrics", Authorization=f"Bearer {TOKEN}").decode()
        )
        for _ in range(REQUESTS):
            _get(f"{server.url}/api/health/live")
        writers = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
        assert len(writers) == 2, (writers, server.output())
        counts = {
            _live_count(_get(f"{server.url}/metrics", Authorization=f"Bearer {TOKEN}").decode())
            for _ in range(6)
        }
    assert counts == {before + REQUESTS}
