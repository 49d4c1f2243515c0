"""Demo catalogue data: a category tree and product rows, reproducible from a seed.

Pure generation: nothing here touches the database. The same seed, product count and
category count always give the same names, slugs, SKUs, prices, stock, descriptions,
active flags and tree shape.

Slugs follow the services' rules (:mod:`nexus_shop.services.catalog`'s own helpers): a
category's is the slug of its name, made unique with ``-2``, ``-3``...; a product's is the
slug of its name followed by its row number, which is unique by construction. Each
vocabulary word is slugged once with that helper and the slugs are joined with "-": for
these words (letters, digits, inner hyphens) that is exactly the slug of the joined name,
and it keeps a million products from running ``slugify`` a million times.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from nexus_shop.conf import conf
from nexus_shop.models.catalog import option_key
from nexus_shop.seeding.words import (
    BENEFITS,
    BRANDS,
    DEFAULT_OPTIONS,
    DEPARTMENT_OPTIONS,
    DEPARTMENTS,
    DETAILS,
    MODELS,
    OPTION_VALUES,
    QUALIFIERS,
    Department,
)
from nexus_shop.services.catalog import _free_slug, _slug_base
from nexus_shop.services.summary import summarise
from nexus_shop.services.variants import COMBINATION_SEPARATOR

__all__ = [
    "MULTI_VARIANT_SHARE",
    "OPTION_COLUMNS",
    "PRODUCT_COLUMNS",
    "VARIANT_COLUMNS",
    "CategorySpec",
    "ProductDraft",
    "VariantDraft",
    "generate_products",
    "plan_categories",
]

YEAR_MS = 365 * 24 * 3600 * 1000
UNCATEGORISED_CODE = "GEN"
_CATEGORY_SLUG_LENGTH = 200  # Category.slug's max_length, as category_create uses it

# The product columns every row fills, in row order (model field names). Listed, not
# derived: a column the database computes (a generated search vector) is never written.
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
    # The summary of the variants (services.summary's rules) and the options they use.
    "price_max",
    "active_variant_count",
    "options",
    "option_words",
    "thumbnail_file",
)
VARIANT_COLUMNS = (
    "product",
    "sku",
    "options",
    "combination",
    "price",
    "compare_at_price",
    "stock",
    "is_active",
    "position",
    "created_at",
    "updated_at",
    "deleted_at",
)
OPTION_COLUMNS = (
    "variant",
    "product",
    "name",
    "value",
    "name_key",
    "value_key",
    "price",
    "in_stock",
)

MULTI_VARIANT_SHARE = 0.3
"""The share of products with options (1 or 2 of them) and 2 to 12 variants."""
MAX_SEED_VARIANTS = 12


def _word_slug(word: str) -> str:
    return _slug_base(word, fallback="", max_length=255)


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


class _CategorySlugs:
    """Category slugs as ``services.catalog.category_create`` allocates them, kept in memory.

    The rules are the services' own helpers: the slug of the name (or "category"), then
    ``-2``, ``-3``... when it is taken.
    """

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, name: str) -> str:
        base = _slug_base(name, fallback="category", max_length=_CATEGORY_SLUG_LENGTH)
        slug = _free_slug(base, self.taken, max_length=_CATEGORY_SLUG_LENGTH)
        self.taken.add(slug)
        return slug


def plan_categories(rng: random.Random, count: int) -> list[list[CategorySpec]]:
    """The tree as levels (roots first): a few roots, then two or three levels below them."""
    if count == 0:
        return []
    slugs = _CategorySlugs()
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


def _child(parent: CategorySpec, name: str, slugs: _CategorySlugs) -> CategorySpec:
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
            nouns=tuple((word, _word_slug(word)) for word in department.nouns),
            adjectives=tuple((word, _word_slug(word)) for word in department.adjectives),
            uses=department.uses,
        )


@dataclass(slots=True)
class VariantDraft:
    """One variant of a :class:`ProductDraft`, in :data:`VARIANT_COLUMNS` terms."""

    sku: str
    options: dict[str, str]
    combination: str
    price: Decimal
    compare_at_price: Decimal | None
    stock: int
    is_active: bool
    position: int


@dataclass(slots=True)
class ProductDraft:
    """A product row (:data:`PRODUCT_COLUMNS` order) with its variants.

    ``row``'s summary columns (``price``, ``price_max``, ``stock``,
    ``active_variant_count``, ``option_words``) are :func:`services.summary.summarise` of
    ``variants``, so a seeded catalogue has no summary drift.
    """

    row: tuple[Any, ...]
    variants: list[VariantDraft]


def generate_products(
    rng: random.Random,
    *,
    count: int,
    categories: Sequence[CategorySpec],
    now: datetime,
    variant_rng: random.Random,
    multi_variant_share: float = MULTI_VARIANT_SHARE,
) -> Iterator[ProductDraft]:
    """Products with their variants; ``category`` is the category's primary key.

    ``rng`` draws the products as it always has, so a seed gives the same names, skus,
    descriptions and flags as before variants existed; ``variant_rng``
    (:func:`variant_random`) draws which products get options, and their variants. A
    separate stream, so the share can change without reshuffling every product.
    """
    maker = _ProductMaker(
        rng,
        categories=categories,
        now=now,
        variants=_VariantMaker(variant_rng, share=multi_variant_share),
    )
    for i in range(1, count + 1):
        yield maker.draft(i)


def variant_random(seed: int) -> random.Random:
    """The variants' own stream for ``--seed seed``: separate, so product rows keep theirs."""
    return random.Random(f"nexus-shop-variants-{seed}")  # noqa: S311  (demo data)


class _ProductMaker:
    """Draws one product at a time from ``rng``; the draws' order is the seed's contract."""

    def __init__(
        self,
        rng: random.Random,
        *,
        categories: Sequence[CategorySpec],
        now: datetime,
        variants: _VariantMaker,
    ) -> None:
        self.random = rng.random
        self.variants = variants
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
        self.brands = tuple((brand, _word_slug(brand)) for brand in BRANDS)
        self.models = tuple((model, _word_slug(model)) for model in MODELS)
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

    def _price_cents(self) -> int:
        """Log-uniform from 3 to 1500, ending in .99, .49 or .00."""
        units = int(math.exp(_LOW_PRICE + self.random() * _PRICE_SPAN))
        ending: int = self._pick(_ENDINGS)  # drawn second, as it always was
        return units * 100 + ending

    def draft(self, i: int) -> ProductDraft:
        r = self.random
        category_pk, vocab = self.targets[bisect_left(self.cumulative, r() * self.total_weight)]
        name, slug_words, adjective, noun = self._name(vocab)
        slug_words.append(str(i))
        description = self._description(vocab, name, adjective, noun)
        price_cents = self._price_cents()
        stock = 0 if r() < 0.1 else 1 + int(r() * 250)
        is_active = r() >= 0.1
        created_at = self.now - timedelta(milliseconds=int(r() * YEAR_MS))
        sku = f"{vocab.code}-{i:07d}"
        options, variants = self.variants.make(
            sku=sku, code=vocab.code, price_cents=price_cents, stock=stock
        )
        summary = summarise(variants)
        row = (
            name,
            "-".join(slug_words),
            sku,
            description,
            summary.price,
            self.currency,
            summary.stock,
            is_active,
            category_pk,
            created_at,
            self.now,
            None,
            summary.price_max,
            summary.active_variant_count,
            options,
            summary.option_words,
            "",
        )
        return ProductDraft(row=row, variants=variants)


class _VariantMaker:
    """Draws a product's options and variants from its own stream.

    A share of products get one or two of their department's options, a run of
    consecutive values of each (three neighbouring sizes, a few colours) and one variant
    per combination, 2 to :data:`MAX_SEED_VARIANTS`. Sizes, capacities and the like cost
    more the bigger they are; colours do not. About 5% of those variants are inactive
    (never the first), some are sold out, and a tenth of products are on sale (a
    ``compare_at_price`` above the price). The others get their default variant: the
    product's sku, price and stock, no option values.
    """

    def __init__(self, rng: random.Random, *, share: float) -> None:
        self.random = rng.random
        self.share = share
        self.prices: dict[int, Decimal] = {}
        # Per option value: display form, casefolded key, sku code.
        self.values = {
            name: tuple((v, option_key(v), _sku_code(v)) for v in values)
            for name, values in OPTION_VALUES.items()
        }

    def _decimal(self, cents: int) -> Decimal:
        price = self.prices.get(cents)
        if price is None:
            price = self.prices[cents] = Decimal(cents).scaleb(-2)
        return price

    def make(
        self, *, sku: str, code: str, price_cents: int, stock: int
    ) -> tuple[list[dict[str, Any]], list[VariantDraft]]:
        """``(product options, variants)`` for one product."""
        r = self.random
        on_sale = r() < 0.1
        if r() >= self.share:
            price = self._decimal(price_cents)
            compare = self._decimal(_was(price_cents)) if on_sale else None
            return [], [VariantDraft(sku, {}, "", price, compare, stock, True, 0)]

        names = list(DEPARTMENT_OPTIONS.get(code, DEFAULT_OPTIONS))
        first = names.pop(int(r() * len(names)))
        chosen = [first]
        if names and r() < 0.4:
            chosen.append(names[int(r() * len(names))])
        # How many values each option offers: the first 2 to 6; a second one what is left
        # of 12 variants (it may offer a single value, as "Material: Oak" does).
        runs: list[tuple[str, tuple[tuple[str, str, str], ...]]] = []
        room = MAX_SEED_VARIANTS
        for index, name in enumerate(chosen):
            pool = self.values[name]
            low = 2 if index == 0 else 1
            high = min(len(pool), 6 if index == 0 else room)
            count = low + int(r() * (high - low + 1))
            start = int(r() * (len(pool) - count + 1))
            runs.append((name, pool[start : start + count]))
            room //= count
        options = [{"name": name, "values": [v[0] for v in values]} for name, values in runs]

        step = max(100, price_cents // 1000 * 100)  # whole units, so the ending stays
        combos: list[tuple[tuple[str, tuple[str, str, str], int], ...]] = [()]
        for name, values in runs:
            priced = name != "Colour"
            combos = [
                (*combo, (name, value, index if priced else 0))
                for combo in combos
                for index, value in enumerate(values)
            ]
        variants = []
        for position, combo in enumerate(combos):
            cents = price_cents + step * sum(bump for _, _, bump in combo)
            variant_stock = 0 if stock == 0 or r() < 0.12 else 1 + int(r() * 60)
            variants.append(
                VariantDraft(
                    sku="-".join([sku, *(value[2] for _, value, _ in combo)]),
                    options={name: value[0] for name, value, _ in combo},
                    combination=COMBINATION_SEPARATOR.join(value[1] for _, value, _ in combo),
                    price=self._decimal(cents),
                    compare_at_price=self._decimal(_was(cents)) if on_sale else None,
                    stock=variant_stock,
                    is_active=position == 0 or r() >= 0.05,
                    position=position,
                )
            )
        return options, variants


def _was(cents: int) -> int:
    """A "was" price a quarter above ``cents``, in whole units (so always above it)."""
    return cents + max(100, cents // 400 * 100)


def _sku_code(value: str) -> str:
    """``"128 GB"`` -> ``"128GB"``, ``"1-pack"`` -> ``"1-PACK"``: a value's part of a sku."""
    return value.upper().replace(" ", "")


_LOW_PRICE = math.log(3)
_PRICE_SPAN = math.log(1500) - _LOW_PRICE
_ENDINGS = (99, 99, 49, 0)
