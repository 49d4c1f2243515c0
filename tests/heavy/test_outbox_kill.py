"""An event exists if and only if its change committed, whatever happens to the process.

A real process makes service writes against the test database and is SIGKILLed:

- right after they committed (it prints ``committed`` once the services returned, then
  sleeps; the test kills it on that line): every change is there, and so is its event;
- inside the transaction, after the services ran but before the commit (it prints
  ``inside`` from within an ``atomic`` block): nothing is there, neither the change nor
  its event.

Nothing is sent on commit and nothing is kept in memory: the event is a row of the same
transaction, so the kill cannot separate them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from cachalot.api import cachalot_disabled
from django.db import connection

from nexus_shop.models import Event, Order, Product
from tests.factories import ProductFactory, UserFactory
from tests.heavy.example_server import database_url
from tests.support.processes import ROOT

pytestmark = [pytest.mark.heavy, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITER = """
import sys, time
import django
django.setup()
from django.db import transaction
from django.contrib.auth import get_user_model
from nexus_shop.services.cart import Holder, cart_add_item
from nexus_shop.services.catalog import product_update
from nexus_shop.services.checkout import checkout

product_id, user_id, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
buyer = get_user_model().objects.get(pk=user_id)

def writes():
    product_update(product_id=product_id, name=f"Renamed {mode}")
    cart_add_item(holder=Holder(user=buyer, token=None), product_id=product_id, quantity=1)
    checkout(user=buyer, cart_token=None, idempotency_key=mode, render=lambda order: {})

if mode == "after-commit":
    writes()  # each service commits its own transaction
    print("committed", flush=True)
else:
    with transaction.atomic():
        writes()
        print("inside", flush=True)
        time.sleep(600)
time.sleep(600)
"""


def run_and_kill(product_id: int, user_id: int, mode: str, line: str) -> None:
    """Run the writer in ``mode``; SIGKILL it as soon as it prints ``line``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "PYTHONPATH": str(ROOT),
    }
    with (
        tempfile.TemporaryFile("w+") as errors,
        subprocess.Popen(  # noqa: S603  (our own interpreter and script)
            [sys.executable, "-c", WRITER, str(product_id), str(user_id), mode],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        ) as process,
    ):
        try:
            assert process.stdout is not None
            printed = process.stdout.readline().strip()  # blocks until the line, or an exit
            if printed != line:
                process.wait(timeout=30)
                errors.seek(0)
                pytest.fail(f"the writer printed {printed!r}, not {line!r}:\n{errors.read()}")
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()


def wait_for_the_backend_to_go(product_id: int) -> None:
    """A killed client's transaction is rolled back once PostgreSQL notices the socket
    closed; the product's row lock says when (it is free again)."""
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = %s AND l.pid <> pg_backend_pid()",
                [Product._meta.db_table],
            )
            if cursor.fetchone()[0] == 0:
                return
            assert time.monotonic() < deadline, "the killed writer's transaction is still open"
            time.sleep(0.05)


def test_a_process_killed_right_after_the_commit_loses_no_event() -> None:
    product = ProductFactory(stock=1)
    buyer = UserFactory()

    run_and_kill(product.pk, buyer.pk, "after-commit", "committed")

    with cachalot_disabled():
        assert Product.objects.get(pk=product.pk).name == "Renamed after-commit"
        order = Order.objects.get()
        events = list(Event.objects.order_by("id"))
    assert [(e.type, e.resource, e.sequence) for e in events] == [
        ("product.updated", f"product:{product.pk}", 1),
        ("inventory.out_of_stock", f"product:{product.pk}", 2),  # the last unit, sold
        ("order.created", f"order:{order.pk}", 1),
    ]
    assert events[0].data["name"] == "Renamed after-commit"
    assert events[2].data["number"] == order.number
    assert all(e.transaction_id is not None for e in events)


def test_a_process_killed_before_its_commit_leaves_neither_change_nor_event() -> None:
    product = ProductFactory(stock=1)
    buyer = UserFactory()

    run_and_kill(product.pk, buyer.pk, "inside", "inside")
    wait_for_the_backend_to_go(product.pk)

    with cachalot_disabled():
        assert Product.objects.get(pk=product.pk).name == product.name
        assert not Order.objects.exists()
        assert not Event.objects.exists()
