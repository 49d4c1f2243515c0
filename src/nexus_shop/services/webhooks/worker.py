"""A delivery worker: passes of fan-out, claim, send and record, in a loop or once.

:class:`Worker` holds the thread pool that sends a claimed batch at once; the database work
stays on the calling thread (the pool's threads only talk HTTP). The loop outlives database
outages: a pass that fails on the database is logged, the connections are dropped, and the
next pass comes after a back-off; whatever was sent meanwhile and not recorded is sent
again once its lease lapses (at least once).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, connections

from nexus_shop.services.webhooks import delivery

logger = logging.getLogger("nexus_shop.webhooks")

DEFAULT_BATCH = 100
DEFAULT_CONCURRENCY = 20
DEFAULT_IDLE_SLEEP = 0.5
FAN_OUT_BATCH = 500
MAX_BACKOFF = 30.0


@dataclass
class Pass:
    """What one pass did."""

    fanned_out: int = 0
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def idle(self) -> bool:
        """Nothing to do: no event to fan out, no delivery due."""
        return not self.fanned_out and not self.claimed


class Worker:
    """Sends due deliveries, ``batch_size`` per claim, ``concurrency`` at a time.

    ``stop`` (set by a signal handler) ends :meth:`run` after the pass in hand: requests
    already sent finish (each within ``NEXUS_SHOP_WEBHOOK_TIMEOUT``) and are recorded,
    claims not yet sent are released at once.
    """

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
        stop: threading.Event | None = None,
    ) -> None:
        self.batch_size = max(1, batch_size)
        self.concurrency = max(1, concurrency)
        self.stop = stop or threading.Event()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="nexus-shop-webhook")

    @property
    def lease(self) -> timedelta:
        return delivery.lease_for(batch_size=self.batch_size, concurrency=self.concurrency)

    def _send(self, claimed: delivery.Claimed) -> delivery.Result | None:
        return None if self.stop.is_set() else delivery.send(claimed)

    def run_once(self) -> Pass:
        """One pass: fan out a batch of events, claim a batch of deliveries, send, record."""
        done = Pass(fanned_out=delivery.fan_out(batch_size=FAN_OUT_BATCH))
        claimed = delivery.claim(batch_size=self.batch_size, lease=self.lease)
        done.claimed = len(claimed)
        if not claimed:
            return done
        sent = list(self._pool.map(self._send, claimed))
        results = [result for result in sent if result is not None]
        done.outcomes = delivery.record(results)
        unsent = [item for item, result in zip(claimed, sent, strict=True) if result is None]
        if unsent:
            done.outcomes[delivery.Outcome.RELEASED] += delivery.release(unsent)
        return done

    def run(self, *, idle_sleep: float = DEFAULT_IDLE_SLEEP, once: bool = False) -> Counter[str]:
        """Passes until :attr:`stop` is set (or, with ``once``, until nothing is due; a
        database error then ends the run instead of being waited out).

        Returns the outcomes of every pass, counted.
        """
        total: Counter[str] = Counter()
        backoff = 0.0
        while not self.stop.is_set():
            try:
                done = self.run_once()
            except DatabaseError as error:
                if once:
                    raise  # a one-off run reports the outage (a non-zero exit) instead
                backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                logger.warning(
                    "Webhook worker: the database failed (%s); next pass in %.1f s",
                    str(error).strip().splitlines()[0] if str(error).strip() else type(error),
                    backoff,
                )
                # A broken connection is not reused: the next pass opens a new one.
                connections.close_all()
                self.stop.wait(backoff)
                continue
            backoff = 0.0
            total.update(done.outcomes)
            if done.idle:
                if once:
                    break
                self.stop.wait(idle_sleep)
        return total

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
