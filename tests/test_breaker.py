"""nexus_shop.breaker: open after a failure, dirty until flushed, retried in the background."""

from __future__ import annotations

import threading

import pytest

from nexus_shop.breaker import RETRY_AFTER, Breaker, retry_after


def state(breaker: Breaker) -> tuple[bool, bool]:
    """(closed, dirty), read afresh (a call, so mypy does not keep an old narrowing)."""
    return breaker.closed, breaker.dirty


def test_the_retry_delay_comes_from_the_cache_options() -> None:
    assert retry_after(None) == RETRY_AFTER == 5.0
    assert retry_after({}) == RETRY_AFTER
    assert retry_after({"RETRY_AFTER": 60}) == 60.0


@pytest.mark.parametrize("value", ["5s", None, -1, float("nan"), float("inf"), True])
def test_a_wrong_retry_delay_falls_back_to_the_default_with_a_warning(
    value: object, caplog: pytest.LogCaptureFixture
) -> None:
    # Never raise: the response cache's engine reads it on the first request.
    with caplog.at_level("WARNING", logger="nexus_shop.breaker"):
        assert retry_after({"RETRY_AFTER": value}) == RETRY_AFTER
    assert "RETRY_AFTER" in caplog.text


def test_a_trip_opens_for_the_window_and_leaves_the_cache_dirty() -> None:
    breaker = Breaker("test", lambda: False, retry_after=60)
    assert state(breaker) == (True, False)
    breaker.trip()
    assert state(breaker) == (False, True)
    breaker.close()  # Redis answered: usable again, but still to be flushed first
    assert state(breaker) == (True, True)
    assert breaker.flushed(breaker.token())
    assert state(breaker) == (True, False)
    assert breaker.wait_clean(timeout=0)


def test_the_thread_retries_the_recovery_until_it_lands() -> None:
    tries: list[int] = []
    lands = threading.Event()

    def recover() -> bool:
        tries.append(1)
        if len(tries) < 3:
            breaker.trip()  # still failing: open again
            return False
        breaker.flushed(breaker.token())
        lands.set()
        return True

    breaker = Breaker("test", recover, retry_after=0)
    breaker.trip()
    assert breaker.wait_clean(timeout=30)
    assert lands.is_set()
    assert len(tries) == 3  # one thread, trying once per window, until the flush landed
    assert not breaker.dirty


def test_one_retry_thread_per_breaker() -> None:
    entered, release = threading.Event(), threading.Event()
    running: list[str] = []

    def recover() -> bool:
        token = breaker.token()
        running.append(threading.current_thread().name)
        entered.set()
        release.wait(30)
        return breaker.flushed(token)

    breaker = Breaker("one-thread", recover, retry_after=0)
    for _ in range(5):
        breaker.trip()  # every failure, while a thread is already waiting to retry
    assert entered.wait(30)
    breaker.trip()  # and while it is recovering: that recovery does not count, one more
    release.set()
    assert breaker.wait_clean(timeout=30)
    assert running == ["nexus-shop-one-thread"] * 2


def test_a_trip_during_a_flush_keeps_the_cache_dirty_and_open() -> None:
    """An invalidation lost after the flush's write is not covered by it: not clean."""
    breaker = Breaker("test", lambda: False, retry_after=60)
    breaker.trip()
    breaker.close()
    token = breaker.token()  # the owner starts flushing
    breaker.trip()  # another thread's invalidation fails meanwhile
    assert not breaker.flushed(token)
    assert state(breaker) == (False, True)  # the trip stands: open, and dirty
    assert not breaker.wait_clean(timeout=0)
    breaker.close()
    assert breaker.flushed(breaker.token())  # a flush that began after it does count
    assert state(breaker) == (True, False)


def test_a_lost_write_during_a_flush_keeps_the_cache_dirty() -> None:
    breaker = Breaker("test", lambda: False, retry_after=60)
    breaker.mark_dirty()
    token = breaker.token()
    breaker.mark_dirty()  # a cachalot write failed after the flush wrote its timestamps
    assert not breaker.flushed(token)
    assert state(breaker) == (True, True)


def test_a_thread_that_cannot_start_does_not_stop_later_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class NoThread(threading.Thread):
        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    lands = threading.Event()

    def recover() -> bool:
        lands.set()
        return breaker.flushed(breaker.token())

    breaker = Breaker("no-thread", recover, retry_after=0)
    with monkeypatch.context() as patch:
        patch.setattr(threading, "Thread", NoThread)
        breaker.trip()  # fails open: no exception, the cache stays dirty
    assert state(breaker)[1]
    breaker.mark_dirty()  # threads are back: this failure starts the retry thread
    assert breaker.wait_clean(timeout=30)
    assert lands.is_set()
