from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.factories import (
    CategoryFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    refresh_token_for,
)
from tests.support.outbox import Outbox
from tests.support.ports import refused_port
from tests.support.redis_server import RedisServer, running_redis
from tests.support.webhook_receiver import Receiver, running_receiver


def pytest_report_header() -> list[str]:
    return [
        f"nexus_shop tests: DATABASE_URL={'set' if os.environ.get('DATABASE_URL') else 'sqlite'}, "
        f"REDIS_URL={'set' if os.environ.get('REDIS_URL') else 'locmem'}"
    ]


HEAVY = Path(__file__).parent / "heavy"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Heavy tests live in tests/heavy, and only they do: `nox -s heavy` runs that folder and
    # `nox -s tests` ignores it, so a heavy test elsewhere would run in neither or in both.
    misplaced = [
        item.nodeid
        for item in items
        if (item.get_closest_marker("heavy") is not None) != item.path.is_relative_to(HEAVY)
    ]
    if misplaced:
        raise pytest.UsageError(f"heavy tests go in tests/heavy, and only they: {misplaced}")
    # The contract test reads what every other test saw (tests/support/contract.py): last.
    items.sort(key=lambda item: item.path.name == "test_openapi_contract.py")
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under pytest-xdist, the contract test's "every operation was called" is checked here,
    on the union of what the workers saw (each worker saw only its share)."""
    from tests.support import contract

    config = session.config
    if hasattr(config, "workeroutput"):  # a worker: hand what it saw to the controller
        config.workeroutput["contract_seen"] = contract.dump(contract.SEEN)
        return
    if not config.pluginmanager.has_plugin("dsession") or exitstatus != pytest.ExitCode.OK:
        return  # not distributed (the test itself checked), or already failing
    from tests.support.openapi import DOCUMENT
    from tests.test_openapi_contract import never_called, undeclared, whole_run

    if not whole_run(config):
        return
    spec = json.loads(DOCUMENT.read_text())
    _problems, operations = undeclared(spec, contract.SEEN)
    missing = sorted(never_called(spec, operations))
    if missing:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"FAILED: operations the suite never called: {missing}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: collect what a finished worker saw (see above)."""
    from tests.support import contract

    contract.SEEN.update(contract.load(getattr(node, "workeroutput", {}).get("contract_seen", [])))


@pytest.fixture(autouse=True, scope="session")
def _json_support_asked(django_db_setup: None, django_db_blocker: Any) -> None:
    """Once the test databases exist, each alias's JSON support asked once.

    Django 6.1's ``run_checks()`` checks every alias by default, and on SQLite a model's
    JSONField check asks the connection whether it supports JSON (a query, cached on the
    connection). The test settings' "replica" alias (a mirror of default, for the router's
    tests) would make every test that runs the checks need it, database mark or not:
    asked here, once, the answer is cached before any test runs.
    """
    from django.db import connections

    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].features.supports_json_field  # noqa: B018  (cached_property)


@pytest.fixture(autouse=True, scope="session")
def _media_root_removed() -> Iterator[None]:
    """The run's MEDIA_ROOT (tests/settings.py) goes when the run ends."""
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """A fresh, empty MEDIA_ROOT of this test's own, for tests that look at stored files."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def bearer(user: Any) -> dict[str, str]:
    """``Authorization`` header with a fresh access token of ``user`` (nexus_shop's lifetimes)."""
    token = refresh_token_for(user).access_token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def anon() -> Client:
    return Client()


@pytest.fixture
def customer(db: None) -> Any:
    return UserFactory()


@pytest.fixture
def staff(db: None) -> Any:
    return StaffFactory()


@pytest.fixture
def customer_client(customer: Any) -> Client:
    return Client(headers=bearer(customer))


@pytest.fixture
def staff_client(staff: Any) -> Client:
    return Client(headers=bearer(staff))


@pytest.fixture
def make_category(db: None) -> Callable[..., Any]:
    return CategoryFactory


@pytest.fixture
def make_product(db: None) -> Callable[..., Any]:
    return ProductFactory


@pytest.fixture
def outbox(db: None) -> Outbox:
    """The events the test writes from here on (``outbox.new()``, ``outbox.kinds()``)."""
    return Outbox()


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private, started ``redis-server`` (never the shared one); stopped after the test."""
    with running_redis() as server:
        yield server


@pytest.fixture
def unreachable_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses every connection for the length of the test."""
    with refused_port() as port:
        yield port


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A live local webhook receiver (tests/support/webhook_receiver.py), and the settings
    that let deliveries reach it: plain http, and exactly 127.0.0.1/32 among the refused
    networks, so every other refusal (metadata, private ranges, rebinding) still holds."""
    settings.NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.NEXUS_SHOP_WEBHOOK_ALLOW_HTTP = True
    with running_receiver() as running:
        yield running
