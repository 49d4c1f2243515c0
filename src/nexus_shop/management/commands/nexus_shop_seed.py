"""``manage.py nexus_shop_seed``: fill the catalogue with realistic, reproducible demo data."""

from __future__ import annotations

import contextlib
import math
import random
import time
from argparse import RawDescriptionHelpFormatter
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import DatabaseError, connection, transaction
from django.db.models import DateTimeField
from django.utils import timezone
from django.utils.text import slugify

from nexus_shop import invalidation
from nexus_shop.conf import conf
from nexus_shop.management.commands._seed_words import (
    BENEFITS,
    BRANDS,
    DEPARTMENTS,
    DETAILS,
    MODELS,
    QUALIFIERS,
    Department,
)
from nexus_shop.models import Category, Product

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

Rows are written in batches inside one transaction: all or nothing. On PostgreSQL (with
psycopg 3) they go in by COPY, with the product table's indexes and foreign key dropped
for the load and rebuilt once at the end (the table is locked for the duration), then
VACUUM ANALYZE; elsewhere by bulk_create. The catalogue must be empty (soft-deleted
products count) unless you pass --clear, which first hard-deletes every product and
category.

Progress goes to stderr: a bar on a terminal, a line per 10% otherwise, nothing with
--verbosity 0.

Examples:
  manage.py nexus_shop_seed --products 1000 --categories 30
  manage.py nexus_shop_seed --products 100000 --categories 200 --seed 7 --clear
"""

YEAR_MS = 365 * 24 * 3600 * 1000
MAX_PRODUCTS = 50_000_000
MAX_CATEGORIES = 100_000
UNCATEGORISED_CODE = "GEN"

PRODUCT_COLUMNS = (
    "name",
    "slug",
    "sku",
    "description",
    "price",
    "currency",
    "stock",
    "is_active",
    "category",
    "created_at",
    "updated_at",
    "deleted_at",
)


# Progress -------------------------------------------------------------------------------------


class Progress:
    """A progress bar on a terminal; a line per ``STEP_PERCENT`` anywhere else; or nothing."""

    WIDTH = 30
    REDRAW_SECONDS = 0.1
    STEP_PERCENT = 10

    def __init__(self, stream: OutputWrapper, *, total: int, label: str, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self.enabled = enabled and total > 0
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_step = 0

    def _write(self, text: str, *, ending: str) -> None:
        # Plain text: OutputWrapper would otherwise colour stderr as an error on a terminal.
        self.stream.write(text, style_func=_plain, ending=ending)
        self.stream.flush()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        fraction = min(1.0, done / self.total)
        if self.tty:
            now = time.monotonic()
            if done < self.total and now - self._last_draw < self.REDRAW_SECONDS:
                return
            self._last_draw = now
            filled = round(self.WIDTH * fraction)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._write(
                f"\r{self.label} [{bar}] {fraction:4.0%} {done:,}/{self.total:,} {elapsed:.1f}s",
                ending="",
            )
            return
        step = int(fraction * 100) // self.STEP_PERCENT
        if step > self._last_step:
            self._last_step = step
            self._write(
                f"{self.label}: {done:,}/{self.total:,} ({fraction:.0%}) {elapsed:.1f}s",
                ending="\n",
            )

    def finish(self) -> None:
        if self.enabled and self.tty:
            self._write("", ending="\n")


def _plain(text: str) -> str:
    return text


# Generation -----------------------------------------------------------------------------------


@dataclass
class CategorySpec:
    name: str
    slug: str
    description: str
    department: Department
    parent: CategorySpec | None
    children: list[CategorySpec] = field(default_factory=list)
    pk: int | None = None
    path: str = ""


class _SlugRegistry:
    def __init__(self, max_length: int) -> None:
        self.max_length = max_length
        self.taken: set[str] = set()

    def claim(self, name: str) -> str:
        base = slugify(name)[: self.max_length].strip("-") or "category"
        slug, n = base, 1
        while slug in self.taken:
            n += 1
            slug = f"{base[: self.max_length - len(str(n)) - 1]}-{n}"
        self.taken.add(slug)
        return slug


def plan_categories(rng: random.Random, count: int) -> list[list[CategorySpec]]:
    """The tree as levels (roots first): a few roots, then two or three levels below them."""
    if count == 0:
        return []
    slugs = _SlugRegistry(200)
    root_count = min(count, len(DEPARTMENTS), max(1, 2 + count // 25))
    # Electronics always, so search demos ("wireless headphones") work on any seed.
    departments = [DEPARTMENTS[0], *rng.sample(DEPARTMENTS[1:], root_count - 1)]
    roots = [
        CategorySpec(
            name=dep.name,
            slug=slugs.claim(dep.name),
            description=f"Everything {dep.name.lower()}: "
            f"{', '.join(noun.lower() for noun in dep.nouns[:4])} and more.",
            department=dep,
            parent=None,
        )
        for dep in departments
    ]
    levels = [roots]
    remaining = count - root_count
    second_count = min(remaining, max(root_count, math.ceil(remaining * 0.4)))
    third_count = remaining - second_count

    second: list[CategorySpec] = []
    sub_names = {
        id(root): rng.sample(root.department.subcategories, len(root.department.subcategories))
        for root in roots
    }
    for i in range(second_count):
        parent = roots[i % root_count]
        names = sub_names[id(parent)]
        k = i // root_count
        name = names[k % len(names)]
        if k >= len(names):
            name = f"{QUALIFIERS[(k // len(names) - 1) % len(QUALIFIERS)]} {name}"
        second.append(_child(parent, name, slugs))
    if second:
        levels.append(second)

    third: list[CategorySpec] = []
    qualifiers = {id(parent): rng.sample(QUALIFIERS, len(QUALIFIERS)) for parent in second}
    for i in range(third_count):
        parent = second[i % len(second)]
        k = i // len(second)
        name = f"{qualifiers[id(parent)][k % len(QUALIFIERS)]} {parent.name}"
        if k >= len(QUALIFIERS):
            name = f"{name} {k // len(QUALIFIERS) + 1}"
        third.append(_child(parent, name, slugs))
    if third:
        levels.append(third)
    return levels


def _child(parent: CategorySpec, name: str, slugs: _SlugRegistry) -> CategorySpec:
    spec = CategorySpec(
        name=name,
        slug=slugs.claim(name),
        description=f"{name} in our {parent.department.name} department.",
        department=parent.department,
        parent=parent,
    )
    parent.children.append(spec)
    return spec


@dataclass(frozen=True)
class _Vocabulary:
    """A department's words with their slugs worked out once."""

    code: str
    nouns: tuple[tuple[str, str], ...]
    adjectives: tuple[tuple[str, str], ...]
    uses: tuple[str, ...]

    @classmethod
    def of(cls, department: Department | None) -> _Vocabulary:
        if department is None:
            department = DEPARTMENTS[0]
            code = UNCATEGORISED_CODE
        else:
            code = department.code
        return cls(
            code=code,
            nouns=tuple((word, slugify(word)) for word in department.nouns),
            adjectives=tuple((word, slugify(word)) for word in department.adjectives),
            uses=department.uses,
        )


def generate_products(
    rng: random.Random,
    *,
    count: int,
    categories: Sequence[CategorySpec],
    now: datetime,
) -> Iterator[tuple[Any, ...]]:
    """Rows in :data:`PRODUCT_COLUMNS` order; ``category`` is the category's primary key."""
    maker = _ProductMaker(rng, categories=categories, now=now)
    for i in range(1, count + 1):
        yield maker.row(i)


class _ProductMaker:
    """Draws one product at a time from ``rng``; the draws' order is the seed's contract."""

    def __init__(
        self, rng: random.Random, *, categories: Sequence[CategorySpec], now: datetime
    ) -> None:
        self.random = rng.random
        self.now = now
        self.currency = conf.CURRENCY
        # Leaves are three times as likely as inner categories, so every level has products.
        self.targets: list[tuple[int | None, _Vocabulary]] = []
        self.cumulative: list[float] = []
        vocabularies: dict[str, _Vocabulary] = {}
        total = 0.0
        for spec in categories:
            code = spec.department.code
            vocabulary = vocabularies.setdefault(code, _Vocabulary.of(spec.department))
            self.targets.append((spec.pk, vocabulary))
            total += 1.0 if spec.children else 3.0
            self.cumulative.append(total)
        if not self.targets:
            self.targets.append((None, _Vocabulary.of(None)))
            self.cumulative.append(1.0)
            total = 1.0
        self.total_weight = total
        self.brands = tuple((brand, slugify(brand)) for brand in BRANDS)
        self.models = tuple((model, slugify(model)) for model in MODELS)
        self.prices: dict[int, Decimal] = {}

    def _pick(self, options: Sequence[Any]) -> Any:
        return options[int(self.random() * len(options))]

    def _name(self, vocab: _Vocabulary) -> tuple[str, list[str], str, str]:
        """``(name, slug words, first adjective, noun)``: brand, adjectives, noun, model."""
        r = self.random
        brand, brand_slug = self._pick(self.brands)
        adjectives = vocab.adjectives
        first = int(r() * len(adjectives))
        adjective, adjective_slug = adjectives[first]
        words, slug_words = [brand, adjective], [brand_slug, adjective_slug]
        if r() < 0.5:
            second = adjectives[(first + 1 + int(r() * (len(adjectives) - 1))) % len(adjectives)]
            words.append(second[0])
            slug_words.append(second[1])
        noun, noun_slug = self._pick(vocab.nouns)
        words.append(noun)
        slug_words.append(noun_slug)
        model, model_slug = self._pick(self.models)
        if model:
            words.append(model)
            slug_words.append(model_slug)
        return " ".join(words), slug_words, adjective, noun

    def _description(self, vocab: _Vocabulary, name: str, adjective: str, noun: str) -> str:
        r = self.random
        use_one, use_two = self._pick(vocab.uses), self._pick(vocab.uses)
        purpose = use_one if use_one == use_two else f"{use_one} and {use_two}"
        detail = self._pick(DETAILS).format(
            years=1 + int(r() * 5), rating=f"{3.5 + int(r() * 16) / 10:.1f}"
        )
        return (
            f"{name}. {adjective} {noun.lower()} made for {purpose}. "
            f"{self._pick(BENEFITS)} {detail}"
        )

    def _price(self) -> Decimal:
        """Log-uniform from 3 to 1500, ending in .99, .49 or .00."""
        cents = int(math.exp(_LOW_PRICE + self.random() * _PRICE_SPAN)) * 100 + self._pick(_ENDINGS)
        price = self.prices.get(cents)
        if price is None:
            price = self.prices[cents] = Decimal(cents).scaleb(-2)
        return price

    def row(self, i: int) -> tuple[Any, ...]:
        r = self.random
        category_pk, vocab = self.targets[bisect_left(self.cumulative, r() * self.total_weight)]
        name, slug_words, adjective, noun = self._name(vocab)
        slug_words.append(str(i))
        description = self._description(vocab, name, adjective, noun)
        price = self._price()
        stock = 0 if r() < 0.1 else 1 + int(r() * 250)
        is_active = r() >= 0.1
        created_at = self.now - timedelta(milliseconds=int(r() * YEAR_MS))
        return (
            name,
            "-".join(slug_words),
            f"{vocab.code}-{i:07d}",
            description,
            price,
            self.currency,
            stock,
            is_active,
            category_pk,
            created_at,
            self.now,
            None,
        )


_LOW_PRICE = math.log(3)
_PRICE_SPAN = math.log(1500) - _LOW_PRICE
_ENDINGS = (99, 99, 49, 0)


# Writing --------------------------------------------------------------------------------------


def _batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _can_copy() -> bool:
    if connection.vendor != "postgresql":
        return False
    # Not at the top: importing it needs a PostgreSQL driver, which is optional.
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


@contextlib.contextmanager
def _explicit_created_at() -> Iterator[None]:
    """Let ``bulk_create`` keep the ``created_at`` we set (``auto_now_add`` would overwrite it).

    Only for the duration of the seed, in this process; the flag is restored afterwards.
    """
    created_at = cast("DateTimeField[Any, Any]", Product._meta.get_field("created_at"))
    previous = created_at.auto_now_add
    created_at.auto_now_add = False
    try:
        yield
    finally:
        created_at.auto_now_add = previous


def _write_products_copy(batches: Iterator[list[tuple[Any, ...]]], progress: Progress) -> int:
    opts = Product._meta
    quote = connection.ops.quote_name
    column_of = {f.name: f.column for f in opts.concrete_fields if f.column}
    columns = ", ".join(quote(column_of[name]) for name in PRODUCT_COLUMNS)
    sql = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN"
    written = 0
    with connection.cursor() as cursor:
        for batch in batches:
            with cursor.copy(sql) as copy:
                for row in batch:
                    copy.write_row(row)
            written += len(batch)
            progress.update(written)
    return written


def _check_deferred_constraints(cursor: Any) -> None:
    """Run the foreign-key checks PostgreSQL deferred to commit (Django's FKs are deferred).

    CREATE INDEX and DROP INDEX refuse to run while such checks are pending.
    """
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextlib.contextmanager
def _bulk_load_mode(progress_stream: OutputWrapper, *, verbose: bool) -> Iterator[None]:
    """PostgreSQL: drop the product table's indexes and foreign keys, load, then add them back.

    Building an index over loaded rows is many times faster than updating it row by row,
    above all the full-text and trigram GIN indexes; and one validation of a re-added
    foreign key is one join, where a million queued per-row checks take seconds (see
    "Populating a Database" in the PostgreSQL manual). Indexes that back a constraint (the
    primary key) stay. It all runs in the caller's transaction: if the load fails, the
    DROPs roll back with it. The table is locked against other writers until commit.
    """
    quote = connection.ops.quote_name
    table = quote(Product._meta.db_table)
    with connection.cursor() as cursor:
        _check_deferred_constraints(cursor)  # ALTER TABLE refuses to run with checks pending
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY i.indexrelid",
            [table],
        )
        indexes: list[tuple[str, str]] = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        foreign_keys: list[tuple[str, str]] = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    steps = len(indexes) + len(foreign_keys)
    progress = Progress(progress_stream, total=steps, label="indexes", enabled=verbose)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        statements = [definition for _, definition in indexes] + [
            f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
            for name, definition in foreign_keys
        ]
        for done, statement in enumerate(statements, start=1):
            cursor.execute(statement)
            progress.update(done)
    progress.finish()


def _truncate_catalogue() -> bool:
    """PostgreSQL: empty both tables at once; False if another table's foreign key forbids it.

    A DELETE would leave every old row behind as a dead tuple until the transaction ends,
    and rebuilding the indexes after the load would have to read them all again.
    """
    quote = connection.ops.quote_name
    tables = ", ".join(quote(model._meta.db_table) for model in (Product, Category))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables}")
    except DatabaseError:
        return False  # referenced from outside the catalogue: fall back to DELETE
    return True


def _write_products_orm(batches: Iterator[list[tuple[Any, ...]]], progress: Progress) -> int:
    written = 0
    names = [name if name != "category" else "category_id" for name in PRODUCT_COLUMNS]
    with _explicit_created_at():
        for batch in batches:
            Product.objects.bulk_create(
                [Product(**dict(zip(names, row, strict=True))) for row in batch],
                batch_size=len(batch),
            )
            written += len(batch)
            progress.update(written)
    return written


def _create_categories(levels: list[list[CategorySpec]], progress: Progress) -> int:
    """Insert level by level, then set ``path`` = parent path + own pk, as the services do."""
    written = 0
    can_return = connection.features.can_return_rows_from_bulk_insert
    for level in levels:
        objects = [
            Category(
                name=spec.name,
                slug=spec.slug,
                description=spec.description,
                parent_id=spec.parent.pk if spec.parent else None,
            )
            for spec in level
        ]
        Category.objects.bulk_create(objects, batch_size=1000)
        if not can_return:  # pragma: no cover  (PostgreSQL and SQLite return ids)
            pks = dict(
                Category.objects.filter(slug__in=[o.slug for o in objects]).values_list(
                    "slug", "pk"
                )
            )
            for obj in objects:
                obj.pk = pks[obj.slug]
        for spec, obj in zip(level, objects, strict=True):
            spec.pk = obj.pk
            spec.path = f"{spec.parent.path if spec.parent else '/'}{obj.pk}/"
            obj.path = spec.path
        Category.objects.bulk_update(objects, ["path"], batch_size=1000)
        written += len(objects)
        progress.update(written)
    return written


# The command ----------------------------------------------------------------------------------


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--products", type=int, default=1000, help="How many products (default 1000)."
        )
        parser.add_argument(
            "--categories", type=int, default=30, help="How many categories (default 30)."
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=1,
            help="Random seed; the same seed gives the same catalogue (default 1).",
        )
        parser.add_argument(
            "--clear",
            action="store_true",
            help="Hard-delete every product (soft-deleted ones too) and category first.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=10_000,
            help="Rows per COPY / bulk_create batch (default 10000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        products: int = options["products"]
        categories: int = options["categories"]
        seed: int = options["seed"]
        batch_size: int = options["batch_size"]
        verbosity: int = options["verbosity"]
        if not 0 <= products <= MAX_PRODUCTS:
            raise CommandError(f"--products must be between 0 and {MAX_PRODUCTS:,}.")
        if not 0 <= categories <= MAX_CATEGORIES:
            raise CommandError(f"--categories must be between 0 and {MAX_CATEGORIES:,}.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")

        started = time.monotonic()
        rng = random.Random(seed)  # noqa: S311  (demo data: reproducible on purpose, not secret)
        levels = plan_categories(rng, categories)
        use_copy = _can_copy()
        with transaction.atomic():
            if options["clear"]:
                self._clear(verbosity)
            else:
                self._refuse_non_empty()
            category_progress = Progress(
                self.stderr, total=categories, label="categories", enabled=verbosity > 0
            )
            _create_categories(levels, category_progress)
            category_progress.finish()

            specs = [spec for level in levels for spec in level]
            now = timezone.now().replace(microsecond=0)
            rows = generate_products(rng, count=products, categories=specs, now=now)
            product_progress = Progress(
                self.stderr, total=products, label="products", enabled=verbosity > 0
            )
            if use_copy:
                with _bulk_load_mode(self.stderr, verbose=verbosity > 0):
                    _write_products_copy(_batches(rows, batch_size), product_progress)
                    product_progress.finish()
            else:
                _write_products_orm(_batches(rows, batch_size), product_progress)
                product_progress.finish()

        self._after_load()
        if verbosity > 0:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded {categories:,} categories and {products:,} products "
                    f"(seed {seed}) in {time.monotonic() - started:.1f}s."
                )
            )

    def _refuse_non_empty(self) -> None:
        product_count = Product.all_objects.count()
        category_count = Category.objects.count()
        if product_count or category_count:
            raise CommandError(
                f"The catalogue is not empty ({product_count:,} products, {category_count:,} "
                "categories). Pass --clear to delete them and seed from scratch."
            )

    def _clear(self, verbosity: int) -> None:
        deleted_products = Product.all_objects.count()
        deleted_categories = Category.objects.count()
        if not (connection.vendor == "postgresql" and _truncate_catalogue()):
            Product.all_objects.all().delete()
            # Detach children first: `parent` is PROTECT, and the collector checks it row by row.
            Category.objects.exclude(parent=None).update(parent=None)
            Category.objects.all().delete()
        if verbosity > 0:
            self.stdout.write(
                f"Deleted {deleted_products:,} products and {deleted_categories:,} categories."
            )

    def _after_load(self) -> None:
        if connection.vendor == "postgresql":
            # Fresh statistics, so the planner uses the indexes on the new data at once; and
            # outside a transaction, VACUUM too: it fills the visibility map, without which
            # counting a category's products reads every row instead of the index alone.
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            with connection.cursor() as cursor:
                for model in (Category, Product):
                    cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        if apps.is_installed("cachalot"):
            # COPY bypasses cachalot's query hooks; drop whatever it cached for these tables.
            from cachalot.api import invalidate  # optional dependency

            invalidate(Category, Product)
        invalidation.catalogue_changed()  # the response cache and CDN: drop the whole catalogue
