"""Database blips against a live example project: connections broken for real.

The example project (uvicorn, DEBUG off, psycopg's pool, a private redis-server) talks to
the test database through a TCP proxy. Two faults:

- every server-side connection is killed with ``pg_terminate_backend`` (a database
  restart, a failover): the next requests must all succeed, since the pool checks each
  connection as it hands it out;
- the proxy is stopped (a network partition, a database that is down) until the server
  has tried to reconnect, then started again: requests made meanwhile may get a JSON 503,
  nothing else; the first request after the database is back must succeed;
- the proxy is stopped until the requests made meanwhile have been answered, so for longer
  than the pool waits for a connection (5 s): they get a JSON 503 (or a cached page), and
  so do requests made before the pool's backed-off reconnection notices the database is
  back; then a request succeeds.

No fixed sleep: each phase waits for what it needs to have happened (the killed backends
gone, the server's reconnection refused, the requests answered).

Each run counts requests, 5xx and stale reads (a read after an acknowledged write that
shows the old value) and prints them (``-s``); the figures go to the maintainers' notes.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import connection

from tests.factories import CategoryFactory, ProductFactory, StaffFactory
from tests.heavy.example_server import database_url, example_server
from tests.support import wait_until
from tests.support.redis_server import RedisServer
from tests.support.tcp_proxy import TcpProxy, running_proxy

pytestmark = [pytest.mark.heavy, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "Kettle-Mosaic-1987"


class Tally:
    """What the server answered, and whether each answer was allowed."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.requests = 0
        self.server_errors = 0  # 5xx other than a JSON 503 while the database is down
        self.outage_503s = 0
        self.stale_reads = 0

    def record(self, response: requests.Response, *, database_down: bool) -> requests.Response:
        self.requests += 1
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            is_json = response.headers.get("content-type", "").startswith("application/json")
            if database_down and response.status_code == 503 and is_json:
                self.outage_503s += 1
            else:
                self.server_errors += 1
        return response

    def __str__(self) -> str:
        return (
            f"requests={self.requests} 5xx={self.server_errors} "
            f"json_503_while_down={self.outage_503s} stale_reads={self.stale_reads} "
            f"statuses={dict(sorted(self.statuses.items()))}"
        )


def _server_connections(database: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        return [row[0] for row in cursor.fetchall()]


def _all_gone(pids: set[int], database: str) -> bool:
    return not pids & set(_server_connections(database))


def _terminate_server_connections(database: str) -> list[int]:
    pids = _server_connections(database)
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pids


class Caller:
    """The test's HTTP client: every answer goes through the tally."""

    def __init__(self, base: str, tally: Tally) -> None:
        self.api = f"{base}/api"
        self.session = requests.Session()
        self.tally = tally
        self.auth: dict[str, str] = {}

    def get(self, path: str, *, down: bool = False, **kwargs: Any) -> requests.Response:
        response = self.session.get(self.api + path, timeout=30, **kwargs)
        return self.tally.record(response, database_down=down)

    def me(self, *, down: bool = False) -> requests.Response:
        """``/auth/me`` reads the user table, which is never cached: always the database."""
        return self.get("/auth/me", headers=self.auth, down=down)

    def log_in(self, username: str) -> None:
        body = {"username": username, "password": PASSWORD}
        login = self.session.post(f"{self.api}/auth/token", json=body, timeout=30)
        assert login.status_code == 200, login.text
        self.auth = {"Authorization": f"Bearer {login.json()['access']}"}

    def write_then_read(self, product_id: int, price: str) -> None:
        """An acknowledged write must be what the next read shows (no stale read)."""
        response = self.session.patch(
            f"{self.api}/products/{product_id}",
            json={"price": price},
            headers=self.auth,
            timeout=30,
        )
        self.tally.record(response, database_down=False)
        assert response.status_code == 200, response.text
        shown = self.get(f"/products/{product_id}").json()["price"]
        if Decimal(shown) != Decimal(price):
            self.tally.stale_reads += 1

    def all_read(self, products: list[Any]) -> None:
        for product in products:
            assert self.get(f"/products/{product.pk}").status_code == 200


def _connections_killed(caller: Caller, products: list[Any], database: str) -> None:
    """1. Every connection the server holds is killed (a restart, a failover)."""
    for round_ in range(3):
        killed = set(_terminate_server_connections(database))
        assert killed
        wait_until(  # the backends are gone before the next request
            partial(_all_gone, killed, database), "the killed backends gone"
        )
        first = caller.me()
        assert first.status_code == 200, (round_, first.status_code, first.text)
        caller.all_read(products)
        caller.write_then_read(products[round_].pk, f"{11 + round_}.50")


def _short_partition(caller: Caller, products: list[Any], proxy: TcpProxy) -> None:
    """2. The database is unreachable until the server has tried it, then back."""
    for round_ in range(3):
        refused = proxy.refused
        proxy.stop()
        # Requests made while the database is down (each may wait for the pool's timeout,
        # 5 s) run beside the outage, which lasts until the server has tried to connect.
        with ThreadPoolExecutor(max_workers=2) as pool:
            during = [
                pool.submit(caller.get, f"/products/{products[0].pk}", down=True),
                pool.submit(caller.me, down=True),
            ]
            proxy.wait_for_refused(refused + 1)
            proxy.start()
            for future in during:
                future.result()
        first = caller.me()
        assert first.status_code == 200, (round_, first.status_code, first.text)
        caller.all_read(products)
        caller.write_then_read(products[round_].pk, f"{21 + round_}.25")


def _long_outage(caller: Caller, products: list[Any], proxy: TcpProxy) -> tuple[float, int]:
    """3. Down until the requests made meanwhile are answered: longer than the pool waits
    for a connection (5 s).

    ``/auth/me`` reads the database: a JSON 503. The product may still come from the
    response cache: a 200. psycopg_pool retries its connections with exponential backoff
    (1 s, 2 s, 4 s...), so the pool itself may take a few seconds to notice the database is
    back: until it does, the answer is still the JSON 503; then a request succeeds. Returns
    the seconds and the requests that took (printed, not asserted: a busy machine is slower).
    """
    proxy.stop()
    with ThreadPoolExecutor(max_workers=2) as pool:
        product = pool.submit(caller.get, f"/products/{products[1].pk}", down=True)
        me = pool.submit(caller.me, down=True)
        assert me.result().status_code == 503, me.result().text
        assert product.result().status_code in {200, 503}, product.result().text
    proxy.start()
    back, tries = time.monotonic(), 1
    while (answer := caller.me(down=True)).status_code != 200:
        assert answer.status_code == 503, answer.text
        assert answer.json()["detail"]
        tries += 1
        assert tries <= 30, "the pool did not reconnect in 30 requests"
    caller.write_then_read(products[4].pk, "31.00")
    return time.monotonic() - back, tries


def test_the_first_request_after_a_database_blip_succeeds(redis_server: RedisServer) -> None:
    staff = StaffFactory(username="fault-staff")
    staff.password = make_password(PASSWORD, hasher=PBKDF2PasswordHasher())  # the server's
    staff.save(update_fields=["password"])
    category = CategoryFactory()
    products = [ProductFactory(category=category, price=Decimal("10.00")) for _ in range(5)]
    settings_dict = connection.settings_dict
    tally = Tally()
    upstream = (settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432))

    with (
        running_proxy(*upstream) as proxy,
        example_server(
            database_url=database_url(settings_dict, host="127.0.0.1", port=proxy.port),
            redis_url=redis_server.url,
        ) as server,
    ):
        caller = Caller(server.url, tally)
        try:
            caller.log_in(staff.username)
            # Warm up: the pool holds several connections, and cachalot has cached reads.
            caller.all_read(products)
            assert caller.get("/products", params={"category": category.pk}).status_code == 200
            assert caller.me().status_code == 200

            _connections_killed(caller, products, settings_dict["NAME"])
            _short_partition(caller, products, proxy)
            recovery, tries = _long_outage(caller, products, proxy)

            health = caller.get("/health")
            assert health.status_code == 200, health.text
        except AssertionError:
            print(f"\nserver log:\n{server.output()[-6000:]}")
            raise
        finally:
            caller.session.close()

    print(
        f"\ndatabase faults: {tally} proxy_connections={proxy.connections} "
        f"first_200_after_the_long_outage={recovery:.1f}s ({tries} requests) "
        f"refused_while_down={proxy.refused}"
    )
    assert tally.server_errors == 0, str(tally)
    assert tally.stale_reads == 0, str(tally)
