"""A product's summary of its variants: price, price_max, stock, active_variant_count, words.

Lists filter, sort and count products on these columns (indexed, on the product row), so
they must always equal what the variants say. Every write that changes a variant (its
price, stock, ``is_active``, options, deletion) calls :func:`refresh_summary` in the same
transaction, after the variant write; the checkout, which changes stock alone, adjusts
``stock`` in its own conditional statements instead.

The rules, written once here:

* ``price`` / ``price_max``: the lowest and highest price of the live, active variants; of
  all live variants while none is active (so neither is ever null);
* ``stock``: the sum of the live, active variants' stock (so ``in_stock`` means "some
  active variant has stock");
* ``active_variant_count``: the live, active variants (a product without one is hidden
  from the public: :data:`nexus_shop.selectors.visibility.PUBLIC_PRODUCTS`);
* ``option_words``: the live variants' option values, for the search (each value once;
  variant by variant, a variant's values in jsonb's key order, whatever the backend).

The same refresh keeps the product's :class:`~nexus_shop.models.VariantOption` rows, the
index that ``option=`` filters and option facets read: one row per option value of each
**live, active** variant, and none for an inactive or deleted one. Filters and facets
then count option values without reading the variants (at a million products, reading
them cost 0.6 s a count): :func:`sync_option_rows`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from nexus_shop.exceptions import ValidationFailed
from nexus_shop.models import Product, ProductVariant, VariantOption
from nexus_shop.models.catalog import MAX_STOCK, in_stock, option_key


@dataclass(frozen=True)
class Summary:
    price: Decimal
    price_max: Decimal
    stock: int
    active_variant_count: int
    option_words: str


class VariantFacts(Protocol):
    """What a summary reads of a variant: a ``ProductVariant``, or the seed's plain rows."""

    @property
    def price(self) -> Decimal: ...
    @property
    def stock(self) -> int: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def options(self) -> Mapping[str, str]: ...


def _jsonb_key_order(name: str) -> tuple[int, bytes]:
    """PostgreSQL's order of jsonb object keys: shorter (in bytes) first, then bytewise."""
    encoded = name.encode()
    return len(encoded), encoded


def summarise(variants: Sequence[VariantFacts]) -> Summary:
    """The summary of a product whose live variants are ``variants`` (the rules above).

    Pure, so the seed (:mod:`nexus_shop.seeding`) computes the columns it writes with
    the same rule, without a round trip.
    """
    active = [v for v in variants if v.is_active]
    priced = active or variants
    words: list[str] = []
    for variant in variants:
        # In jsonb's key order, not the dict's: PostgreSQL hands a variant's options back
        # in that order, so a variant just written, one read back and one read from SQLite
        # all give the same words.
        for name in sorted(variant.options, key=_jsonb_key_order):
            value = variant.options[name]
            if value not in words:
                words.append(value)
    return Summary(
        price=min((v.price for v in priced), default=Decimal("0.00")),
        price_max=max((v.price for v in priced), default=Decimal("0.00")),
        stock=sum(v.stock for v in active),
        active_variant_count=len(active),
        option_words=" ".join(words),
    )


def refresh_summary(*, product_ids: Collection[int]) -> dict[int, Summary]:
    """Recompute the summary columns of ``product_ids`` from their live variants.

    Returns each product's new summary. One read of the variants and one ``UPDATE`` a
    product whose summary changed. A total stock past
    :data:`~nexus_shop.models.catalog.MAX_STOCK` (what the product's column holds) is a
    :class:`~nexus_shop.exceptions.ValidationFailed`: the caller's transaction rolls back.
    """
    by_product: dict[int, list[ProductVariant]] = {pk: [] for pk in product_ids}
    for variant in ProductVariant.objects.filter(product_id__in=by_product).only(
        "product_id", "price", "stock", "is_active", "options"
    ):
        by_product[variant.product_id].append(variant)
    sync_option_rows(by_product)
    current: dict[int, dict[str, Any]] = {
        row["pk"]: dict(row)
        for row in Product.all_objects.filter(pk__in=by_product).values(
            "pk", "price", "price_max", "stock", "active_variant_count", "option_words"
        )
    }
    summaries: dict[int, Summary] = {}
    for pk, variants in by_product.items():
        summary = summarise(variants)
        if summary.stock > MAX_STOCK:
            raise ValidationFailed(
                f"Product {pk}'s active variants would hold {summary.stock:,} units in all; a "
                f"product holds at most {MAX_STOCK:,}. Nothing was changed.",
                extra={"field": "stock"},
            )
        summaries[pk] = summary
        fields = {
            "price": summary.price,
            "price_max": summary.price_max,
            "stock": summary.stock,
            "active_variant_count": summary.active_variant_count,
            "option_words": summary.option_words,
        }
        row = current.get(pk)
        if row is not None and any(row[k] != v for k, v in fields.items()):
            Product.all_objects.filter(pk=pk).update(**fields)
    return summaries


# variant id, name key, value key, name, value, price, in stock
_OptionRow = tuple[int, str, str, str, str, Decimal, bool]
_ROW_FIELDS = ("variant_id", "name_key", "value_key", "name", "value", "price", "in_stock")


def _wanted_rows(variants: Sequence[ProductVariant]) -> set[_OptionRow]:
    return {
        (
            variant.pk,
            option_key(name),
            option_key(value),
            name,
            value,
            variant.price,
            in_stock(variant.stock),
        )
        for variant in variants
        if variant.is_active
        for name, value in variant.options.items()
    }


def sync_option_rows(variants_of: Mapping[int, Sequence[ProductVariant]]) -> None:
    """Make the :class:`VariantOption` rows of each product in ``variants_of`` those of its
    live, active variants, with their price and whether they are in stock (the mapping
    holds every live variant of each product).

    Writes only the difference: a stock change (which calls :func:`refresh_summary`
    too) reads the rows and writes none.
    """
    wanted = set().union(*(_wanted_rows(v) for v in variants_of.values()))
    existing = {
        tuple(row[1:]): row[0]
        for row in VariantOption.objects.filter(product_id__in=list(variants_of)).values_list(
            "pk", *_ROW_FIELDS
        )
    }
    stale = [pk for row, pk in existing.items() if row not in wanted]
    if stale:
        VariantOption.objects.filter(pk__in=stale).delete()
    product_of = {v.pk: pk for pk, variants in variants_of.items() for v in variants}
    missing = sorted(wanted - existing.keys())
    if missing:
        VariantOption.objects.bulk_create(
            VariantOption(product_id=product_of[row[0]], **dict(zip(_ROW_FIELDS, row, strict=True)))
            for row in missing
        )


def option_rows_drift() -> list[int]:
    """Ids of products whose :class:`VariantOption` rows are not those of their live,
    active variants (should be none): the audit of :func:`sync_option_rows`."""
    wanted: dict[int, set[_OptionRow]] = {}
    for variant in ProductVariant.objects.only(
        "product_id", "is_active", "options", "price", "stock"
    ):
        wanted.setdefault(variant.product_id, set()).update(_wanted_rows([variant]))
    stored: dict[int, set[_OptionRow]] = {}
    for product_id, *row in VariantOption.objects.values_list("product_id", *_ROW_FIELDS):
        stored.setdefault(product_id, set()).add(tuple(row))
    products = wanted.keys() | stored.keys()
    return sorted(pk for pk in products if wanted.get(pk, set()) != stored.get(pk, set()))


def summary_drift() -> list[int]:
    """Ids of live products whose summary disagrees with their live variants (should be none).

    Recomputes each summary with the same rule as :func:`refresh_summary` (one home for
    it), from a fresh read of every live variant: for tests, and for operators auditing a
    database after a bulk load.
    """
    by_product: dict[int, list[ProductVariant]] = {}
    for variant in ProductVariant.objects.filter(product__deleted_at__isnull=True).only(
        "product_id", "price", "stock", "is_active", "options"
    ):
        by_product.setdefault(variant.product_id, []).append(variant)
    drift = []
    for row in Product.objects.values(
        "pk", "price", "price_max", "stock", "active_variant_count", "option_words"
    ).order_by("pk"):
        stored = Summary(
            price=row["price"],
            price_max=row["price_max"],
            stock=row["stock"],
            active_variant_count=row["active_variant_count"],
            option_words=row["option_words"],
        )
        if stored != summarise(by_product.get(row["pk"], [])):
            drift.append(row["pk"])
    return drift
