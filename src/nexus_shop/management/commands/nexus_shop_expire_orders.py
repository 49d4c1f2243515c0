"""``manage.py nexus_shop_expire_orders``: cancel unpaid orders and return their stock."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nexus_shop.conf import conf
from nexus_shop.services.orders import orders_expire


class Command(BaseCommand):
    help = (
        "Cancel pending_payment orders older than NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT and "
        "return their stock. Safe to run from several hosts at once (each order is taken "
        "by one run, with FOR UPDATE SKIP LOCKED). Run it every few minutes (cron, a "
        "scheduler)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=100,
            help="Orders per transaction (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expired = orders_expire(batch_size=max(1, options["batch_size"]))
        self.stdout.write(
            f"Expired {expired} order(s) unpaid for {conf.ORDER_PAYMENT_TIMEOUT}; "
            "their stock is back."
        )
