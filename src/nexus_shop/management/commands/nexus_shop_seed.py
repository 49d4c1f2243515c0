"""``manage.py nexus_shop_seed``: fill the catalogue with realistic, reproducible demo data.

The command parses and reports; :mod:`nexus_shop.seeding.generate` makes the data and
:mod:`nexus_shop.seeding.load` writes it (rows only, never the schema).
"""

from __future__ import annotations

import random
import time
from argparse import RawDescriptionHelpFormatter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from nexus_shop.seeding import load, pictures
from nexus_shop.seeding.generate import (
    MULTI_VARIANT_SHARE,
    generate_products,
    plan_categories,
    variant_random,
)
from nexus_shop.seeding.progress import Progress
from nexus_shop.services import events

HELP = """\
Fill the catalogue with realistic demo data: a category tree and products.

The same --seed, --products and --categories always give the same catalogue (names,
slugs, SKUs, prices, stock, descriptions, active flags and tree shape); only database ids
and timestamps differ. Categories form a tree of a few roots and two or three levels, with
their materialised `path` set as the category services set it. Products get names and
descriptions built from department word lists ("Aurora Wireless Noise-Cancelling
Headphones"), so full-text search demos find what you would expect; about 10% are
inactive and about 10% are out of stock; `created_at` is spread over the past year so
sorting by date means something. Products go to leaf and inner categories alike.

About 30% of products (--multi-variant-share) have one or two options of their department
(Size XS..XXL, Colour, Material, Capacity...) and 2 to 12 variants, each with its own sku
(the product's plus the values: CLO-0000042-M-NAVY), price, stock and option rows; a few
variants are inactive or sold out, a tenth of products are on sale (compare_at_price).
The others have their default variant, which carries the product's sku. The product's
price, price range and stock are the summary of its variants, as the services keep them.

--images N draws a picture for the first N products with Pillow (shapes in the product's
colours, its name as text: no network needed) and adds it through the image service, one
per colour for products with a Colour option, linked to those variants. The demo uses it;
the benchmark seeds never draw.

Rows are written in batches inside one transaction: all or nothing. On PostgreSQL (with
psycopg 3) they go in by COPY, elsewhere by INSERT; then ANALYZE (VACUUM ANALYZE after
commit). The schema is never touched: no index or constraint is dropped and nothing is
truncated, so it is safe in a host's database. The catalogue must be empty (soft-deleted
products and categories count) unless you pass --clear, which first hard-deletes every
product and category with DELETE (so foreign keys from your own tables are honoured:
PROTECT refuses, CASCADE follows).

Progress goes to stderr: a bar on a terminal, a line per 10% otherwise, nothing with
--verbosity 0.

No webhook events are emitted (no product.created, no category.created): the rows are
written directly, and the pictures are added with events suppressed. The output says so.

Examples:
  manage.py nexus_shop_seed --products 1000 --categories 30
  manage.py nexus_shop_seed --products 100000 --categories 200 --seed 7 --clear
  manage.py nexus_shop_seed --products 2000 --images 120
"""

NO_EVENTS = (
    "No webhook events were emitted: the seed writes (and with --clear deletes) catalogue "
    "rows directly, and adds its pictures with events suppressed."
)

MAX_PRODUCTS = 50_000_000
MAX_CATEGORIES = 100_000


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--products", type=int, default=1000, help="How many products (default %(default)s)."
        )
        parser.add_argument(
            "--categories", type=int, default=30, help="How many categories (default %(default)s)."
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help="Random seed; the same seed gives the same catalogue (default %(default)s).",
        )
        parser.add_argument(
            "--clear",
            action="store_true",
            help="Hard-delete every product and category (soft-deleted ones too) first.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=10_000,
            help="Rows per COPY / bulk_create batch (default %(default)s).",
        )

        parser.add_argument(
            "--multi-variant-share",
            type=float,
            default=MULTI_VARIANT_SHARE,
            help="Share of products with options and 2-12 variants (default %(default)s).",
        )
        parser.add_argument(
            "--images",
            type=int,
            default=0,
            help="Draw and add pictures for this many products (default %(default)s: none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        products: int = options["products"]
        categories: int = options["categories"]
        seed: int = options["seed"]
        batch_size: int = options["batch_size"]
        verbose = options["verbosity"] > 0
        if not 0 <= products <= MAX_PRODUCTS:
            raise CommandError(f"--products must be between 0 and {MAX_PRODUCTS:,}.")
        if not 0 <= categories <= MAX_CATEGORIES:
            raise CommandError(f"--categories must be between 0 and {MAX_CATEGORIES:,}.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        share: float = options["multi_variant_share"]
        if not 0 <= share <= 1:
            raise CommandError("--multi-variant-share must be between 0 and 1.")
        images: int = options["images"]
        if images < 0:
            raise CommandError("--images must be at least 0.")

        started = time.monotonic()
        rng = random.Random(seed)  # noqa: S311  (demo data: reproducible on purpose, not secret)
        levels = plan_categories(rng, categories)
        with transaction.atomic():
            if options["clear"]:
                deleted_products, deleted_categories = load.clear_catalogue()
                if verbose:
                    self.stdout.write(
                        f"Deleted {deleted_products:,} products and "
                        f"{deleted_categories:,} categories."
                    )
            else:
                self._refuse_non_empty()
            progress = Progress(self.stderr, total=categories, label="categories", enabled=verbose)
            load.create_categories(levels, progress)
            progress.finish()

            specs = [spec for level in levels for spec in level]
            now = timezone.now().replace(microsecond=0)
            drafts = generate_products(
                rng,
                count=products,
                categories=specs,
                now=now,
                variant_rng=variant_random(seed),
                multi_variant_share=share,
            )
            progress = Progress(self.stderr, total=products, label="products", enabled=verbose)
            load.write_products(load.batches(drafts, batch_size), progress)
            progress.finish()

        load.analyze()
        if images:
            # After the commit: each picture is its own write, through the image service
            # (with events suppressed: no receiver heard of the products they picture).
            with events.suppressed():
                drawn = pictures.add_pictures(limit=images)
            if verbose:
                self.stdout.write(f"Added {drawn:,} pictures.")
        if verbose:
            self.stdout.write(NO_EVENTS)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded {categories:,} categories and {products:,} products "
                    f"(seed {seed}) in {time.monotonic() - started:.1f}s."
                )
            )

    def _refuse_non_empty(self) -> None:
        product_count, category_count = load.catalogue_size()
        if product_count or category_count:
            raise CommandError(
                f"The catalogue is not empty ({product_count:,} products, {category_count:,} "
                "categories). Pass --clear to delete them and seed from scratch."
            )
