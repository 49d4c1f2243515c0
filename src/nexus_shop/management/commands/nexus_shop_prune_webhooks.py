"""``manage.py nexus_shop_prune_webhooks``: delete old webhook deliveries and events."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nexus_shop.conf import conf
from nexus_shop.services.webhooks.retention import webhooks_prune


class Command(BaseCommand):
    help = (
        "Delete succeeded webhook deliveries (with their attempts) older than "
        "NEXUS_SHOP_WEBHOOK_RETENTION_DAYS, failed and given-up ones older than "
        "NEXUS_SHOP_WEBHOOK_FAILED_RETENTION_DAYS, and events older than the longer of the "
        "two that no delivery refers to any more. In batches; safe to run while workers "
        "deliver. Run it daily (cron, a scheduler)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Rows per transaction (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = webhooks_prune(batch_size=max(1, options["batch_size"]))
        self.stdout.write(
            f"Deleted {pruned.succeeded} succeeded webhook deliveries older than "
            f"{conf.WEBHOOK_RETENTION_DAYS} days, {pruned.failed} failed or given-up ones "
            f"older than {conf.WEBHOOK_FAILED_RETENTION_DAYS} days, and {pruned.events} "
            "events no delivery refers to."
        )
