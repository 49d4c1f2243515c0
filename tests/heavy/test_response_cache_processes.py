"""Two live server processes of the example project, one PostgreSQL, one private Redis.

- Exactness: a write through one process is visible to the very next read through the
  other, hundreds of times, under ASGI (the wrapper) and WSGI (the middleware).
- Faults (issue 8): Redis stopped and restarted empty; Redis frozen (SIGSTOP) while a
  write happens; Redis full (maxmemory, noeviction). Each run counts requests, 5xx and
  stale reads; the last two must be 0.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import CategoryFactory, ProductFactory, StaffFactory, refresh_token_for
from tests.support import require_binary, wait_until
from tests.support.ports import listening_socket
from tests.support.processes import ROOT, serve, serve_on_free_port
from tests.support.redis_server import RedisServer, running_redis

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0  # 5xx
    stale: int = 0
    hits: int = 0
    log: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"requests={self.requests} 5xx={self.errors} stale={self.stale} hits={self.hits} "
            + "; ".join(entry[:300] for entry in self.log[:5])
        )


class Api:
    """One server process, one keep-alive connection."""

    def __init__(self, port: int, token: str, tally: Tally) -> None:
        self.port = port
        self.token = token
        self.tally = tally
        self.phase = ""
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = False) -> Any:
        headers = {"Host": "127.0.0.1"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.connection.close()  # a server closing an idle keep-alive: reconnect once
                if attempt == 2:
                    raise
        self.tally.requests += 1
        if response.status >= 500:
            self.tally.errors += 1
            self.tally.log.append(f"{method} {path} -> {response.status}: {data[:200]!r}")
        if response.getheader("X-Response-Cache") == "hit":
            self.tally.hits += 1
        return response.status, (json.loads(data) if data else None)

    def expect(self, path: str, check: Any, what: str) -> None:
        status, body = self.request("GET", path)
        if status == 200 and not check(body):
            self.tally.stale += 1
            self.tally.log.append(f"stale {what} from :{self.port} ({self.phase}): {body}")


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def servers(redis_url: str, interface: str = "asgi", count: int = 2) -> Iterator[list[int]]:
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": "heavy-test-secret-key-not-for-production",
        "JWT_SIGNING_KEY": settings.NINJA_JWT["SIGNING_KEY"],
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    module = "example_project.asgi:application"
    extra: list[str] = []
    if interface == "wsgi":
        module, extra = "example_project.wsgi:application", ["--interface", "wsgi"]
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            listener = listening_socket()
            args = [sys.executable, "-m", "uvicorn", module, "--app-dir", "example_project"]
            args += ["--fd", str(listener.fileno()), "--log-level", "warning", *extra]
            ports.append(stack.enter_context(serve(args, listener=listener, env=env)).port)
        yield ports


@contextmanager
def clients(ports: list[int], token: str, tally: Tally) -> Iterator[list[Api]]:
    apis = [Api(port, token, tally) for port in ports]
    try:
        yield apis
    finally:
        for api in apis:
            api.connection.close()


@contextmanager
def on_private_redis(
    catalogue: dict[str, Any], tally: Tally
) -> Iterator[tuple[RedisServer, Api, Api]]:
    """Two server processes on a private Redis (to stop, freeze or fill), a client each."""
    with (
        running_redis() as redis_server,
        servers(redis_server.url) as ports,
        clients(ports, catalogue["token"], tally) as (a, b),
    ):
        yield redis_server, a, b


@pytest.fixture
def catalogue(db: None) -> dict[str, Any]:
    category = CategoryFactory(slug="shoes")
    products = [ProductFactory(category=category, stock=5) for _ in range(3)]
    staff = StaffFactory()
    return {
        "category": category,
        "products": products,
        "token": str(refresh_token_for(staff).access_token),
    }


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_a_write_is_visible_to_the_next_read_in_the_other_process(
    catalogue: dict[str, Any], redis_server: RedisServer, interface: str
) -> None:
    tally = Tally()
    product, untouched = catalogue["products"][0], catalogue["products"][1]
    detail = f"/api/products/{product.pk}"
    listing = "/api/products?category=shoes&ordering=name"
    with (
        servers(redis_server.url, interface) as ports,
        clients(ports, catalogue["token"], tally) as (a, b),
    ):
        for api in (a, b):
            api.request("GET", detail)
            api.request("GET", listing)
        for n in range(1, 301):
            writer, reader = (a, b) if n % 2 else (b, a)
            change: dict[str, Any] = {"stock": 1000 + n}
            if n % 10 == 0:
                change["name"] = f"Renamed {n}"  # a membership change (the list's order)
            status, _ = writer.request("PATCH", detail, change, auth=True)
            assert status == 200, tally
            reader.expect(detail, lambda body, c=change: _shows(body, c), "detail")
            reader.expect(
                listing,
                lambda body, c=change: _shows(
                    next(i for i in body["items"] if i["id"] == product.pk), c
                ),
                "list",
            )
        for api in (a, b):  # untouched rows stay cached through all of that
            api.request("GET", f"/api/products/{untouched.pk}")
        hits_before = tally.hits
        a.request("GET", f"/api/products/{untouched.pk}")
        assert tally.hits == hits_before + 1, tally
    assert tally.errors == 0, tally
    assert tally.stale == 0, tally
    assert tally.hits > 0, tally
    print(f"\n{interface}, 2 processes, 300 write-then-read trials: {tally}")


def settle(api: Api, path: str, check: Any) -> None:
    """Read ``path`` through ``api`` (each answer checked for staleness) until one is a
    cache hit: the process's breakers have closed, and its cache is in use again."""

    def hit() -> bool:
        hits = api.tally.hits
        api.expect(path, check, "detail")
        return api.tally.hits > hits

    wait_until(hit, f"a cache hit from :{api.port}")


def _shows(item: dict[str, Any], change: dict[str, Any]) -> bool:
    return all(item[key] == value for key, value in change.items())


def test_redis_stopped_restarted_and_frozen(catalogue: dict[str, Any]) -> None:
    """Fail-open with 0 5xx, and no stale reads after Redis comes back (either way)."""
    tally = Tally()
    product = catalogue["products"][0]
    detail = f"/api/products/{product.pk}"
    with on_private_redis(catalogue, tally) as (redis_server, a, b):
        version = 0

        def write(api: Api) -> None:
            nonlocal version
            version += 1
            status, _ = api.request("PATCH", detail, {"name": f"v{version}"}, auth=True)
            assert status == 200, tally

        def read_everywhere(rounds: int = 3) -> None:
            for _ in range(rounds):
                for api in (a, b):
                    api.expect(detail, lambda body: body["name"] == f"v{version}", "detail")
                    api.expect(
                        "/api/products?category=shoes",
                        lambda body: any(i["name"] == f"v{version}" for i in body["items"]),
                        "list",
                    )

        write(a)
        read_everywhere()  # warm: both processes cache both pages

        def phase(name: str) -> None:
            a.phase = b.phase = name

        phase("stopped")
        redis_server.stop()  # refused connections
        read_everywhere()
        write(a)
        read_everywhere()
        phase("restarted")
        redis_server.start()  # back, empty
        read_everywhere()
        write(b)
        read_everywhere()

        phase("paused")
        redis_server.pause()  # frozen: every Redis call times out
        read_everywhere(1)
        write(a)  # its invalidations cannot land
        read_everywhere(1)
        phase("resumed")
        redis_server.resume()  # Redis kept its (now stale) entries
        read_everywhere(5)
        phase("settled")
        for api in (a, b):  # until its breakers close and it serves from its cache again
            settle(api, detail, lambda body: body["name"] == f"v{version}")
        read_everywhere(5)
        write(b)
        read_everywhere()
        assert tally.hits > 0, tally  # the cache is in use again
    assert tally.errors == 0, tally
    assert tally.stale == 0, tally
    print(f"\nRedis stop/start/pause, 2 processes: {tally}")


def test_redis_full_refusing_writes(catalogue: dict[str, Any]) -> None:
    tally = Tally()
    product = catalogue["products"][0]
    detail = f"/api/products/{product.pk}"
    with on_private_redis(catalogue, tally) as (redis_server, a, b):
        for api in (a, b):
            for _ in range(2):
                api.request("GET", detail)
        raw = redis_server.raw()
        used = int(raw.info("memory")["used_memory"])
        raw.config_set("maxmemory-policy", "noeviction")
        raw.config_set("maxmemory", str(max(used // 2, 1024 * 1024)))
        for n in range(200):  # make sure it is over the limit
            try:
                raw.set(f"junk:{n}", b"x" * 65536)
            except Exception:
                break
        for n in range(1, 11):
            writer, reader = (a, b) if n % 2 else (b, a)
            status, _ = writer.request("PATCH", detail, {"name": f"Full {n}"}, auth=True)
            assert status == 200, tally
            for api in (reader, writer):
                api.expect(detail, lambda body, n=n: body["name"] == f"Full {n}", "detail")
        status, health = a.request("GET", "/api/health")
        assert status == 200
        assert health["cache"] == "degraded", health
    assert tally.errors == 0, tally
    assert tally.stale == 0, tally
    print(f"\nRedis full (noeviction), 2 processes: {tally}")


def test_varnish_is_purged_on_commit(
    catalogue: dict[str, Any], redis_server: RedisServer, tmp_path: Path
) -> None:
    """The shipped VCL in a real varnishd: a write purges exactly the pages that show it."""
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not Path(varnishd).exists():
        require_binary("varnishd")
    app_listener = listening_socket()
    app_port = app_listener.getsockname()[1]
    # varnishd reads its VCL as its own unprivileged user: not from pytest's private tmp_path.
    varnish_dir = Path(tempfile.mkdtemp(prefix="nexus-shop-varnish-"))
    varnish_dir.chmod(0o755)
    vcl = (ROOT / "example_project" / "varnish" / "nexus_shop.vcl").read_text()
    (varnish_dir / "nexus_shop.vcl").write_text(vcl.replace('"8000"', f'"{app_port}"'))
    (varnish_dir / "nexus_shop.vcl").chmod(0o644)

    def varnish_args(port: int) -> list[str]:
        return [
            varnishd, "-F", "-f", str(varnish_dir / "nexus_shop.vcl"),
            "-a", f"127.0.0.1:{port}", "-n", str(varnish_dir / "work"), "-s", "malloc,32m",
        ]  # fmt: skip

    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "PYTHONPATH": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "varnish_settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": "heavy-test-secret-key-not-for-production",
        "JWT_SIGNING_KEY": settings.NINJA_JWT["SIGNING_KEY"],
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    app_args = [sys.executable, "-m", "uvicorn", "example_project.asgi:application"]
    app_args += ["--app-dir", "example_project", "--fd", str(app_listener.fileno())]
    app_args += ["--log-level", "warning"]
    tally = Tally()
    p1, p2 = catalogue["products"][:2]
    pages = {
        "p1": f"/api/products/{p1.pk}",
        "p2": f"/api/products/{p2.pk}",
        "list": "/api/products?category=shoes",
    }
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, varnish_dir, ignore_errors=True)
        stack.callback(app_listener.close)  # if the app never started
        varnish = stack.enter_context(serve_on_free_port(varnish_args))
        # The app learns the Varnish to purge from its settings, written once that port is known.
        (tmp_path / "varnish_settings.py").write_text(
            "from example_project.settings import *  # noqa: F403\n"
            'NEXUS_SHOP_CDN_PURGE_BACKEND = "nexus_shop.http_cache.purge.VarnishPurge"\n'
            f'NEXUS_SHOP_CDN_PURGE_OPTIONS = {{"servers": ["{varnish.url}"]}}\n'
        )
        stack.enter_context(serve(app_args, listener=app_listener, env=env))
        cdn, app = stack.enter_context(clients([varnish.port, app_port], catalogue["token"], tally))

        def fetch(path: str) -> tuple[str, Any, str]:
            cdn.connection.request("GET", path, headers={"Host": "127.0.0.1"})
            response = cdn.connection.getresponse()
            body = json.loads(response.read())
            return (
                response.getheader("X-Varnish-Cache") or "",
                body,
                response.getheader("Surrogate-Key") or "",
            )

        for path in pages.values():
            fetch(path)
        state = {name: fetch(path) for name, path in pages.items()}
        assert {name: s[0] for name, s in state.items()} == dict.fromkeys(pages, "HIT")
        assert f"product-{p1.pk}" in state["p1"][2].split()
        assert "product-list" in state["list"][2].split()
        assert "product-list" not in state["p1"][2].split()  # details outlive list changes

        status, _ = app.request("PATCH", pages["p1"], {"stock": 77}, auth=True)
        assert status == 200
        verdict, body, _ = fetch(pages["p1"])
        assert (verdict, body["stock"]) == ("MISS", 77)
        verdict, body, _ = fetch(pages["list"])
        assert verdict == "MISS"
        assert next(i for i in body["items"] if i["id"] == p1.pk)["stock"] == 77
        assert fetch(pages["p2"])[0] == "HIT"  # narrow: the other product stays cached
        assert fetch(pages["p1"])[0] == "HIT"  # and the new page is cached again
    assert tally.errors == 0, tally
