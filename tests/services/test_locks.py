"""``services.locks``: who waits for whom, observed in PostgreSQL's own lock table.

A second transaction is started in a thread (its own connection); the test waits until
PostgreSQL shows it waiting on a lock (``pg_stat_activity``), or until it finished, and
then decides what happens next. No timing is involved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, connections, transaction

from nexus_shop.models import Category
from nexus_shop.services.locks import advisory_lock, key_share_lock
from tests.factories import CategoryFactory
from tests.support import wait_until


class Other:
    """``work`` in a transaction of its own, in a thread; ``done`` once it committed."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.pid: int | None = None
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()
        wait_until(self._started.is_set, "the other transaction started")

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pid = cursor.fetchone()[0]
                self._started.set()
                work()
            self.done.set()
        except BaseException as error:  # re-raised by join()
            self.error = error
        finally:
            self._started.set()
            connections.close_all()

    def waits_on_a_lock(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh, inside a transaction
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [self.pid]
            )
            row = cursor.fetchone()
        return row is not None and row[0] == "Lock"

    def join(self) -> None:
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the other transaction never finished"
        if self.error is not None:
            raise self.error


@contextmanager
def holding(lock: Callable[[], Any]) -> Iterator[None]:
    with transaction.atomic():
        lock()
        yield


def test_the_locks_answer_whether_the_row_exists(db: None) -> None:
    # Every backend: the existence check; on PostgreSQL the locks are taken too.
    category = CategoryFactory()
    with transaction.atomic():
        advisory_lock("a", "b")  # nothing to wait for, nothing raised
        assert key_share_lock(Category, category.pk) is True
        assert key_share_lock(Category, category.pk + 1000) is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_advisory_lock_makes_the_same_name_wait_until_commit() -> None:
    order: list[str] = []

    def second() -> None:
        advisory_lock("product:7")
        order.append("second")

    with holding(lambda: advisory_lock("cart:1", "product:7")):
        same = Other(second)
        wait_until(same.waits_on_a_lock, "the second transaction waits")
        other = Other(lambda: advisory_lock("product:8"))  # another name: no wait
        wait_until(other.done.is_set, "the other name is taken at once")
        order.append("first commits")
    same.join()
    other.join()
    assert order == ["first commits", "second"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_names_in_any_order_take_the_same_locks_in_the_same_order() -> None:
    # Locks taken in the order given would deadlock here (a then b against b then a);
    # sorted, the second waits for the first.
    with holding(lambda: advisory_lock("a", "b")):
        reversed_ = Other(lambda: advisory_lock("b", "a"))
        wait_until(reversed_.waits_on_a_lock, "the reversed names wait")
    reversed_.join()
    assert reversed_.done.is_set()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_key_share_lock_holds_off_a_delete_but_not_an_update() -> None:
    category = CategoryFactory()
    table = Category._meta.db_table
    order: list[str] = []

    def delete() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [category.pk])  # noqa: S608  (our table)
        order.append("deleted")

    def rename() -> None:
        Category.objects.filter(pk=category.pk).update(name="Renamed")

    with holding(lambda: key_share_lock(Category, category.pk)):
        rename_ = Other(rename)
        wait_until(rename_.done.is_set, "a non-key update goes on")
        delete_ = Other(delete)
        wait_until(delete_.waits_on_a_lock, "the delete waits")
        order.append("lock released")
    delete_.join()
    rename_.join()
    assert order == ["lock released", "deleted"]
    assert not Category.objects.filter(pk=category.pk).exists()
