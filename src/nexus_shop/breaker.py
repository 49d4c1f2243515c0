"""The circuit breaker of a cache in Redis: skip Redis after a failure, flush before reuse.

Both caches nexus_shop keeps in Redis use it: the fail-open cache backend
(:class:`nexus_shop.cache.RedisCache`, hence django-cachalot) and the response cache's store
(:mod:`nexus_shop.http_cache.store`). One rule for both:

* **Open.** A failure to reach Redis *trips* the breaker: for ``retry_after`` seconds the
  cache is not used at all (reads miss, writes are dropped, no connection is attempted), so
  an outage costs one connection timeout per process every few seconds, not one per query.
* **Dirty.** A trip, or a write that Redis lost, makes the cache *dirty*: it may hold
  entries an invalidation should have replaced. A dirty cache is flushed (every entry made
  unusable at once) before it is used again; that moment is the *recovery*. A failure
  while the flush runs may have lost a write the flush did not cover: the cache stays
  dirty, and the flush is tried again.
* **Retry.** While dirty, a background thread tries the recovery as soon as each window
  ends, even with no traffic: other processes may read this Redis meanwhile, and the sooner
  the process that lost an invalidation flushes, the shorter their window.

Why not a circuit-breaker library (pybreaker, circuitbreaker): they count failures and
raise while open, but the part that matters here is the *dirty* state and the flush that
must land before reuse, which they do not have; the open/closed part is a timestamp.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from nexus_shop import instruments

logger = logging.getLogger("nexus_shop.breaker")

# One retry delay for both caches, 5 s by default, set per cache with ``RETRY_AFTER`` in the
# ``OPTIONS`` of its ``CACHES`` entry. While open, a process pays at most one connection
# timeout (0.5 s) per window: at 5 s that is a tenth of one worker's time during an outage
# (the response cache's former 2 s was a quarter). A longer window does not delay freshness,
# only the return of cache hits: the flush runs in the background as soon as Redis answers.
RETRY_AFTER = 5.0
# The retry thread never waits less than this between two tries (a window of 0 s).
MIN_RETRY_WAIT = 0.5
# After this, the thread stops; the next use of the cache flushes it anyway.
GIVE_UP_AFTER = 300.0


def valid_retry_after(value: object) -> bool:
    """True if ``value`` may be a ``RETRY_AFTER``: a finite number of seconds, >= 0.

    The one rule for the option; the system check (``nexus_shop.E022``) reports what fails it.
    """
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def retry_after(options: Mapping[str, Any] | None) -> float:
    """The retry delay a ``CACHES`` entry's ``OPTIONS`` ask for (``RETRY_AFTER``), or 5 s.

    An invalid value (``"5s"``, ``None``, a negative number) falls back to 5 s with a
    warning rather than raise on every request; the system check reports it at start-up.
    """
    value = (options or {}).get("RETRY_AFTER", RETRY_AFTER)
    if not valid_retry_after(value):
        logger.warning(
            "Cache OPTIONS RETRY_AFTER=%r is not a finite number >= 0; using %ss",
            value,
            RETRY_AFTER,
        )
        return RETRY_AFTER
    return float(value)


class Breaker:
    """Open/closed and dirty/clean, for one cache; see the module doc.

    ``recover`` is the recovery the retry thread tries: it returns True once the cache is
    flushed and usable again (and then calls :meth:`flushed`), False to try again after the
    next window. The owner decides what "flushed" means (new cachalot timestamps and a new
    response-cache epoch; or a new epoch).

    A flush proves nothing about a failure that happens while it runs: an invalidation
    lost after the flush's write leaves a stale entry under the new epoch. So every trip
    and every :meth:`mark_dirty` bumps a generation; an owner takes a :meth:`token` before
    it flushes, and :meth:`flushed` cleans only if no failure came in between.
    """

    # The states the metric reports (nexus_shop_cache_breaker_state).
    CLEAN, DIRTY, OPEN = 0, 1, 2

    def __init__(
        self,
        name: str,
        recover: Callable[[], bool],
        *,
        retry_after: float = RETRY_AFTER,
        cache: str = "other",
    ) -> None:
        """``cache`` names it in the metrics: ``query_cache`` or ``response_cache``."""
        self.name = name
        self.cache = cache
        self.retry_after = retry_after
        self.open_until = 0.0
        self.dirty = False
        self.lock = threading.Lock()
        self._recover = recover
        self._retrying = False
        self._generation = 0
        self._clean = threading.Event()
        self._clean.set()

    @property
    def closed(self) -> bool:
        """True when the cache may be used (no failure in the last ``retry_after`` seconds)."""
        return time.monotonic() >= self.open_until

    def trip(self) -> None:
        """A failure to reach Redis: open for ``retry_after`` seconds, and mark dirty."""
        with self.lock:
            self.open_until = time.monotonic() + self.retry_after
            start = self._dirty()
        instruments.breaker_state(self.cache, self.OPEN)
        if start:
            self._start_retrying()

    def close(self) -> None:
        """Redis answered: use the cache again (a dirty one is flushed first)."""
        with self.lock:
            self.open_until = 0.0
            dirty = self.dirty
        instruments.breaker_state(self.cache, self.DIRTY if dirty else self.CLEAN)

    def mark_dirty(self) -> None:
        """Entries may be stale: flush before the next use; retry in the background till then."""
        with self.lock:
            start = self._dirty()
            state = self.DIRTY if self.closed else self.OPEN
        instruments.breaker_state(self.cache, state)
        if start:
            self._start_retrying()

    def _dirty(self) -> bool:
        """Mark dirty (the lock held); True if a retry thread is to be started."""
        self._generation += 1
        self.dirty = True
        self._clean.clear()
        if self._retrying:
            return False
        self._retrying = True
        return True

    def _start_retrying(self) -> None:
        try:
            threading.Thread(
                target=self._retry, name=f"nexus-shop-{self.name}", daemon=True
            ).start()
        except RuntimeError as exc:  # no thread to be had: the next use flushes anyway
            with self.lock:
                self._retrying = False  # so the next failure tries to start one again
            logger.warning("%s: no retry thread (%s); flushing at next use", self.name, exc)

    def token(self) -> int:
        """Taken before a flush and given to :meth:`flushed`: the failures seen so far."""
        with self.lock:
            return self._generation

    def flushed(self, token: int) -> bool:
        """The recovery that began at ``token`` landed: clean and closed, if nothing failed since.

        A trip or :meth:`mark_dirty` after ``token`` was taken may have lost a write the
        flush did not cover: the cache then stays dirty (and open, if tripped), and the
        retry thread goes on. Returns True if the cache is clean.
        """
        with self.lock:
            if self._generation != token:
                return False
            self.dirty = False
            self.open_until = 0.0
            self._clean.set()
        instruments.breaker_state(self.cache, self.CLEAN)
        return True

    def wait_clean(self, timeout: float) -> bool:
        """Block until the cache is clean (flushed after its last failure), at most ``timeout``."""
        return self._clean.wait(timeout)

    def _retry(self) -> None:
        give_up = time.monotonic() + GIVE_UP_AFTER
        while True:
            with self.lock:
                now = time.monotonic()
                if not self.dirty or now >= give_up:
                    # Under the lock: a trip from now on starts a new thread.
                    self._retrying = False
                    return
                wait = max(MIN_RETRY_WAIT, self.open_until - now)
            time.sleep(wait)  # until the window ends: a try before it would be skipped
            try:
                self._recover()
            except Exception as exc:  # a recovery that raises is one more failed try
                logger.warning("%s: recovery failed (%s); trying again", self.name, exc)
