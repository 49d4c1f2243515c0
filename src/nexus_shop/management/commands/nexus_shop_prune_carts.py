"""``manage.py nexus_shop_prune_carts``: delete abandoned anonymous carts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from nexus_shop.conf import conf
from nexus_shop.services.cart import carts_prune
from nexus_shop.services.checkout import idempotency_records_prune


class Command(BaseCommand):
    help = (
        "Delete anonymous carts untouched for NEXUS_SHOP_ANONYMOUS_CART_TTL (30 days by "
        "default). Users' carts and carts that became orders are kept. Also deletes "
        "Idempotency-Key records older than NEXUS_SHOP_IDEMPOTENCY_KEY_TTL. Safe to run "
        "from several hosts at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Carts per transaction (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = carts_prune(batch_size=max(1, options["batch_size"]))
        keys = idempotency_records_prune()
        self.stdout.write(
            f"Deleted {deleted} anonymous cart(s) untouched for {conf.ANONYMOUS_CART_TTL} "
            f"and {keys} idempotency record(s) older than {conf.IDEMPOTENCY_KEY_TTL}."
        )
