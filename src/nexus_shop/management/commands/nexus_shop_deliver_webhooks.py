"""``manage.py nexus_shop_deliver_webhooks``: the webhook delivery worker."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nexus_shop.services.webhooks import worker


class Command(BaseCommand):
    help = (
        "Deliver the outbox's events to the webhook endpoints: fan committed events out, "
        "claim due deliveries, POST them signed, record every attempt, retry on schedule. "
        "Runs until SIGTERM or SIGINT (the batch in hand is finished and recorded, what "
        "was not sent yet is released); --once drains what is due and exits. Any number "
        "of processes, on any number of hosts, may run it at once (FOR UPDATE SKIP LOCKED)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Deliver what is due now, then exit (for cron, or a one-off drain).",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=worker.DEFAULT_BATCH,
            help="Deliveries claimed at once (default %(default)s).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=worker.DEFAULT_CONCURRENCY,
            help="Requests in flight at once, in threads (default %(default)s).",
        )
        parser.add_argument(
            "--idle-sleep",
            type=float,
            default=worker.DEFAULT_IDLE_SLEEP,
            help="Seconds to wait when nothing is due before looking again (default "
            "%(default)s): the added latency of an event on a quiet shop.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def stopping(signum: int, frame: object) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            with worker.Worker(
                batch_size=options["batch"], concurrency=options["concurrency"], stop=stop
            ) as running:
                if options["verbosity"] >= 1 and not options["once"]:
                    self.stdout.write(
                        f"Delivering webhooks: batches of {running.batch_size}, "
                        f"{running.concurrency} at a time. SIGTERM or Ctrl-C stops."
                    )
                    self.stdout.flush()
                outcomes = running.run(
                    idle_sleep=max(0.0, options["idle_sleep"]), once=options["once"]
                )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        summary = ", ".join(
            f"{amount} {name}" for name, amount in sorted(outcomes.items()) if amount
        )
        self.stdout.write(f"Webhook deliveries: {summary or 'none'}.")
