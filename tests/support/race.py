"""Run callables at the same moment, one thread each, to prove a concurrency promise.

Each thread closes its own database connections when done. Races only mean something on
PostgreSQL: mark such tests ``postgres`` and ``django_db(transaction=True)``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections


def race(calls: Sequence[Callable[[], Any]], *, timeout: float = 120.0) -> list[Any]:
    """Start every call behind one barrier; return each result (or the exception it raised),
    in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = call()
        except BaseException as error:  # returned to the caller, who asserts on it
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"calls {stuck} did not finish within {timeout} s"
    return outcomes


def race_n(count: int, call: Callable[[int], Any], *, timeout: float = 120.0) -> list[Any]:
    """:func:`race` of ``call(0)``, ``call(1)``, ... ``call(count - 1)``."""
    return race([functools.partial(call, n) for n in range(count)], timeout=timeout)
