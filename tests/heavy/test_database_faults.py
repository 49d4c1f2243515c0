"""Database blips against a live example project: connections broken for real.

The example project (uvicorn, DEBUG off, psycopg's pool, a private redis-server) talks to
the test database through a TCP proxy. Two faults:

- every server-side connection is killed with ``pg_terminate_backend`` (a database
  restart, a failover): the next requests must all succeed, since the pool checks each
  connection as it hands it out;
- the proxy is stopped for one second (a network partition, a database that is down):
  requests made meanwhile may get a JSON 503, nothing else; the first request after the
  database is back must succeed.

Each run counts requests, 5xx and stale reads (a read after an acknowledged write that
shows the old value) and prints them (``-s``); the figures go to the maintainers' notes.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import connection

from tests.factories import CategoryFactory, ProductFactory, StaffFactory
from tests.heavy.example_server import database_url, example_server
from tests.support.redis_server import RedisServer
from tests.support.tcp_proxy import running_proxy

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


def _terminate_server_connections(database: str) -> int:
    pids = _server_connections(database)
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return len(pids)


def test_the_first_request_after_a_database_blip_succeeds(redis_server: RedisServer) -> None:
    staff = StaffFactory(username="fault-staff")
    staff.password = make_password(PASSWORD, hasher=PBKDF2PasswordHasher())  # the server's
    staff.save(update_fields=["password"])
    category = CategoryFactory()
    products = [ProductFactory(category=category, price=Decimal("10.00")) for _ in range(5)]
    settings_dict = connection.settings_dict
    tally = Tally()

    with (
        running_proxy(
            settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)
        ) as proxy,
        example_server(
            database_url=database_url(settings_dict, host="127.0.0.1", port=proxy.port),
            redis_url=redis_server.url,
        ) as server,
        requests.Session() as session,
    ):
        api = f"{server.url}/api"
        try:

            def get(path: str, *, down: bool = False, **kwargs: Any) -> requests.Response:
                return tally.record(
                    session.get(api + path, timeout=30, **kwargs), database_down=down
                )

            def write_then_read(product_id: int, price: str, headers: dict[str, str]) -> None:
                """An acknowledged write must be what the next read shows (no stale read)."""
                response = session.patch(
                    f"{api}/products/{product_id}",
                    json={"price": price},
                    headers=headers,
                    timeout=30,
                )
                tally.record(response, database_down=False)
                assert response.status_code == 200, response.text
                shown = get(f"/products/{product_id}").json()["price"]
                if Decimal(shown) != Decimal(price):
                    tally.stale_reads += 1

            login = session.post(
                f"{api}/auth/token",
                json={"username": staff.username, "password": PASSWORD},
                timeout=30,
            )
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access']}"}

            # Warm up: the pool holds several connections, and cachalot has cached the lists.
            for product in products:
                assert get(f"/products/{product.pk}").status_code == 200
                assert get("/products", params={"category": category.pk}).status_code == 200
            assert get("/auth/me", headers=auth).status_code == 200

            # 1. Every connection the server holds is killed (a restart, a failover).
            for round_ in range(3):
                assert _terminate_server_connections(settings_dict["NAME"]) > 0
                time.sleep(0.2)  # the backends are gone before the next request
                first = get("/auth/me", headers=auth)  # always reads the database (uncachable)
                assert first.status_code == 200, (round_, first.status_code, first.text)
                for product in products:
                    assert get(f"/products/{product.pk}").status_code == 200
                write_then_read(products[round_].pk, f"{11 + round_}.50", auth)

            # 2. The database is unreachable for a second (partition), then back.
            for round_ in range(3):
                proxy.stop()
                # Requests made while the database is down (each may wait for the pool's
                # timeout, 5 s) run beside the clock: the outage lasts one second.
                with ThreadPoolExecutor(max_workers=2) as pool:
                    during = [
                        pool.submit(get, f"/products/{products[0].pk}", down=True),
                        pool.submit(get, "/auth/me", headers=auth, down=True),
                    ]
                    time.sleep(1.0)
                    proxy.start()
                    for future in during:
                        future.result()
                first = get("/auth/me", headers=auth)
                assert first.status_code == 200, (round_, first.status_code, first.text)
                for product in products:
                    assert get(f"/products/{product.pk}").status_code == 200
                write_then_read(products[round_].pk, f"{21 + round_}.25", auth)

            health = get("/health")
            assert health.status_code == 200, health.text
        except AssertionError:
            print(f"\nserver log:\n{server.output()[-6000:]}")
            raise

    print(f"\ndatabase faults: {tally} proxy_connections={proxy.connections}")
    assert tally.server_errors == 0, str(tally)
    assert tally.stale_reads == 0, str(tally)
