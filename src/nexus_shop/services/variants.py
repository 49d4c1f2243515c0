"""Writes to a product's options and variants. Keyword-only, typed, transactional.

The rules of the variant model, each written once here:

* a product has 0 to :data:`~nexus_shop.models.catalog.MAX_OPTIONS` options and 1 to
  :data:`~nexus_shop.models.catalog.MAX_VARIANTS` live variants; a product without options
  has exactly one, its *default variant*, whose sku is the product's;
* every live variant names one value of each option, and no two the same combination
  (:func:`resolve_combination`);
* a live variant's sku is unique among all live variants (a soft-deleted product's
  variants are deleted with it, at the same instant, and come back with it);
* ``compare_at_price`` is greater than ``price`` when given;
* every write refreshes the product's summary and its option rows
  (:func:`nexus_shop.services.summary.refresh_summary`) and tells
  :mod:`nexus_shop.invalidation` what changed: a *membership* change when a price, the
  active set, the options or a variant's stock crossing zero can move the product in or
  out of a filtered list;
* every write emits one ``product.updated`` (a staff change to a variant is a change to
  its product), and a variant whose stock crossed zero its ``inventory.*`` event
  (:func:`nexus_shop.services.stock.announce_crossings`).

Writes lock the product row first (``FOR NO KEY UPDATE``) and the variants after it, the
same order as the checkout, so they never deadlock with a sale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Max, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from nexus_shop import invalidation, versions
from nexus_shop.exceptions import Conflict, NotFound, ValidationFailed
from nexus_shop.models import Product, ProductVariant
from nexus_shop.models.catalog import MAX_STOCK, MAX_VARIANTS, option_key
from nexus_shop.money import to_cents
from nexus_shop.services.event_payloads import emit_product
from nexus_shop.services.stock import StockChange, announce_crossings, crosses_zero
from nexus_shop.services.summary import Summary, refresh_summary

# The largest stock a variant holds (the column is a 32-bit integer on every backend).


class Unset:
    """Marks a keyword the caller did not pass (so ``None`` can mean "set to null")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()

COMBINATION_SEPARATOR = "\x1f"
# Prefix of the placeholder sku and combination a PUT parks a rewritten variant on while it
# swaps values with another. A control character: no sku or option value sent can hold one
# (the schemas refuse them), and unlike NUL, PostgreSQL stores it.
_PARKED = "\x1eparked:"


@dataclass
class VariantSpec:
    """A variant as a write asks for it (``id`` None: a new one)."""

    sku: str
    price: Decimal
    stock: int
    options: dict[str, str] = field(default_factory=dict)
    compare_at_price: Decimal | None = None
    is_active: bool = True
    position: int | None = None
    id: int | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> VariantSpec:
        return cls(**{k: v for k, v in data.items() if v is not UNSET})


# Options ------------------------------------------------------------------------------------


def resolve_combination(
    options: Sequence[Mapping[str, Any]], values: Mapping[str, str], *, where: str = "options"
) -> tuple[dict[str, str], str]:
    """A variant's option ``values`` in the product's display forms, and their combination key.

    Names and values match case-insensitively; every option needs a value, and nothing
    else may be named. Raises :class:`ValidationFailed` (``field``: ``where``).
    """
    by_key = {option_key(o["name"]): o for o in options}
    given: dict[str, str] = {}
    for name, value in values.items():
        key = option_key(name)
        if key not in by_key:
            raise ValidationFailed(
                f"This product has no option named {name!r}"
                + (
                    f"; its options are {', '.join(repr(o['name']) for o in options)}."
                    if options
                    else "; it has no options."
                ),
                extra={"field": where},
            )
        if key in given:
            raise ValidationFailed(f"Option {name!r} is named twice.", extra={"field": where})
        given[key] = value
    display: dict[str, str] = {}
    parts: list[str] = []
    for option in options:
        key = option_key(option["name"])
        if key not in given:
            raise ValidationFailed(
                f"The variant needs a value for option {option['name']!r}.", extra={"field": where}
            )
        wanted = option_key(given[key])
        match = next((v for v in option["values"] if option_key(v) == wanted), None)
        if match is None:
            raise ValidationFailed(
                f"{given[key]!r} is not a value of option {option['name']!r}; its values are "
                f"{', '.join(repr(v) for v in option['values'])}.",
                extra={"field": where},
            )
        display[option["name"]] = match
        parts.append(option_key(match))
    return display, COMBINATION_SEPARATOR.join(parts)


# Locks and checks ---------------------------------------------------------------------------


def lock_product(product_id: int, *, deleted_too: bool = False) -> Product:
    """The product, row-locked until the transaction ends; ``NotFound`` if missing."""
    manager = Product.all_objects if deleted_too else Product.objects
    product = (
        manager.select_for_update(no_key=True, of=("self",))
        .select_related("category")
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise NotFound(f"No product with id {product_id}.")
    return product


def check_version(product: Product, if_match: Sequence[str] | None) -> None:
    """``If-Match`` against the product's detail as staff read it (variants and images)."""
    if if_match is None:
        return
    from nexus_shop.selectors.products import attach_detail

    attach_detail([product], staff=True)
    versions.check(versions.product_version(product), if_match)


def _sku_taken(sku: str, *, exclude: Iterable[int] = ()) -> bool:
    return ProductVariant.objects.filter(sku=sku).exclude(pk__in=list(exclude)).exists()


def _check_skus(specs: Sequence[VariantSpec], *, exclude: Iterable[int] = ()) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.sku in seen:
            raise Conflict(f"Two variants have sku {spec.sku!r}.", extra={"field": "variants"})
        seen.add(spec.sku)
    taken = set(
        ProductVariant.objects.filter(sku__in=seen)
        .exclude(pk__in=list(exclude))
        .values_list("sku", flat=True)
    )
    if taken:
        sku = sorted(taken)[0]
        raise Conflict(f"A variant with sku {sku!r} already exists.", extra={"field": "sku"})


def _check_price(price: Decimal, compare_at_price: Decimal | None, *, where: str) -> None:
    """The "was" price must be above the price (both compared in cents, as stored)."""
    if compare_at_price is not None and to_cents(compare_at_price) <= to_cents(price):
        raise ValidationFailed(
            f"compare_at_price ({to_cents(compare_at_price)}) must be greater than price "
            f"({to_cents(price)}): it is the price before a reduction.",
            extra={"field": where},
        )


def _check_options_fit(
    options: Sequence[Mapping[str, Any]], variants: Iterable[ProductVariant]
) -> None:
    """New ``options`` for a product whose live ``variants`` stay: each must still fit.

    An option (or a value) removed while a variant uses it, or an option added that the
    variants have no value for, is a :class:`ValidationFailed` naming the variant: send
    the variants in the same request to change both at once.
    """
    names = {option_key(o["name"]): o for o in options}
    for variant in variants:
        used = {option_key(name): (name, value) for name, value in variant.options.items()}
        for key, (name, value) in used.items():
            option = names.get(key)
            if option is None:
                raise ValidationFailed(
                    f"Option {name!r} cannot be removed while variant {variant.sku!r} (id "
                    f"{variant.pk}) uses it; send the variants too, without it.",
                    extra={"field": "options"},
                )
            if option_key(value) not in {option_key(v) for v in option["values"]}:
                raise ValidationFailed(
                    f"Value {value!r} cannot be removed from option {option['name']!r} while "
                    f"variant {variant.sku!r} (id {variant.pk}) uses it; send the variants "
                    "too.",
                    extra={"field": "options"},
                )
        for key, option in names.items():
            if key not in used:
                raise ValidationFailed(
                    f"Variant {variant.sku!r} (id {variant.pk}) has no value for the new option "
                    f"{option['name']!r}; send the variants too, each with its value.",
                    extra={"field": "options"},
                )


def save_variant(variant: ProductVariant) -> None:
    """Save; a lost race on the sku or the option values is a :class:`Conflict`."""
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        if _sku_taken(variant.sku, exclude=[variant.pk] if variant.pk else []):
            raise Conflict(
                f"A variant with sku {variant.sku!r} already exists.", extra={"field": "sku"}
            ) from None
        raise Conflict(
            "Another live variant of this product has the same option values.",
            extra={"field": "options"},
        ) from None


def _changed(product: Product, before: Summary | None, after: Summary, *, membership: bool) -> None:
    moved = (
        membership
        or before is None
        or (
            before.price != after.price
            or before.price_max != after.price_max
            or before.active_variant_count != after.active_variant_count
            or crosses_zero(before=before.stock, after=after.stock)
            or before.option_words != after.option_words
        )
    )
    invalidation.products_changed(product_ids=[product.pk], membership=moved)


def _summary_of(product: Product) -> Summary:
    return Summary(
        price=product.price,
        price_max=product.price_max,
        stock=product.stock,
        active_variant_count=product.active_variant_count,
        option_words=product.option_words,
    )


def _next_position(product: Product) -> int:
    top = ProductVariant.all_objects.filter(product=product).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


# Whole sets (product create / PUT) --------------------------------------------------------


def _live_variants(product: Product) -> list[ProductVariant]:
    return list(ProductVariant.objects.select_for_update(of=("self",)).filter(product=product))


def _refit(options: Sequence[Mapping[str, Any]], variants: Iterable[ProductVariant]) -> None:
    """New ``options`` over variants that stay: each must fit them, and takes their spelling."""
    variants = list(variants)
    _check_options_fit(options, variants)
    for variant in variants:
        display, combination = resolve_combination(options, variant.options, where="options")
        if display != variant.options or combination != variant.combination:
            variant.options, variant.combination = display, combination
            variant.save(update_fields=["options", "combination", "updated_at"])


_Resolved = tuple[VariantSpec, dict[str, str], str]


def _resolve_specs(
    product: Product,
    options: Sequence[Mapping[str, Any]],
    specs: Sequence[VariantSpec],
    existing: Mapping[int, ProductVariant],
) -> list[_Resolved]:
    """Check a whole set of variants against the limits and rules; each with its combination."""
    if not specs:
        raise ValidationFailed("A product needs at least one variant.", extra={"field": "variants"})
    if len(specs) > MAX_VARIANTS:
        raise ValidationFailed(
            f"A product has at most {MAX_VARIANTS} variants.", extra={"field": "variants"}
        )
    if not options and len(specs) != 1:
        raise ValidationFailed(
            f"A product without options has exactly one variant (got {len(specs)}); give it "
            "options first.",
            extra={"field": "variants"},
        )
    if not options and specs[0].sku != product.sku:
        raise ValidationFailed(
            f"A product without options has one variant, its default, whose sku is the "
            f"product's ({product.sku!r}), not {specs[0].sku!r}.",
            extra={"field": "variants"},
        )
    ids = [s.id for s in specs if s.id is not None]
    for pk in ids:
        if pk not in existing:
            raise ValidationFailed(
                f"No live variant with id {pk} in this product.", extra={"field": "variants"}
            )
        if ids.count(pk) > 1:
            raise ValidationFailed(f"Variant id {pk} is listed twice.", extra={"field": "variants"})
    combos: set[str] = set()
    resolved: list[_Resolved] = []
    for spec in specs:
        display, combination = resolve_combination(options, spec.options, where="variants")
        if combination in combos:
            raise ValidationFailed(
                "Two variants have the same option values"
                + (f" ({', '.join(display.values())})." if display else "."),
                extra={"field": "variants"},
            )
        combos.add(combination)
        _check_price(spec.price, spec.compare_at_price, where="variants")
        resolved.append((spec, display, combination))
    _check_skus(specs, exclude=existing)
    return resolved


def _moves(variant: ProductVariant, spec: VariantSpec, combination: str) -> bool:
    """Whether writing ``spec`` over ``variant`` can move its product in or out of a list.

    Lists filter each variant by its stock (``in_stock``), activity, price and option
    values, and the search finds its exact sku: a change to any of them is a membership
    change.
    """
    return (
        crosses_zero(before=variant.stock, after=spec.stock)
        or variant.is_active != spec.is_active
        or variant.price != to_cents(spec.price)
        or variant.combination != combination
        or variant.sku != spec.sku
    )


def replace_variants(
    *,
    product: Product,
    options: Sequence[Mapping[str, Any]],
    specs: Sequence[VariantSpec] | None,
) -> bool:
    """Give the locked ``product`` these ``options`` and (unless None) these variants.

    PUT semantics: variants with an ``id`` are updated, ones without are created, live
    ones left out are soft-deleted (orders point at them). With ``specs`` None the
    variants stay, and must fit ``options``. Returns whether a variant's stock crossed
    zero or an option changed (a membership change); an updated variant whose stock
    crossed zero is announced. The caller refreshes the summary and emits the product's
    event.
    """
    existing = {v.pk: v for v in _live_variants(product)}
    crossed = list(product.options) != list(options)
    if specs is None:
        _refit(options, existing.values())
        product.options = list(options)
        return crossed
    resolved = _resolve_specs(product, options, specs, existing)
    kept = {s.id for s in specs if s.id is not None}
    # Delete first, then free combinations and skus before the rows that take them.
    gone = [pk for pk in existing if pk not in kept]
    if gone:
        now = timezone.now()
        ProductVariant.objects.filter(pk__in=gone).update(deleted_at=now, updated_at=now)
        crossed = True
    if kept:  # park the combinations and skus being rewritten, so swaps never collide
        parked = Concat(Value(_PARKED), Cast("pk", output_field=CharField()))
        ProductVariant.objects.filter(pk__in=kept).update(combination=parked, sku=parked)
    position = _next_position(product)
    written: list[ProductVariant] = []
    stock_changes: list[StockChange] = []
    for index, (spec, display, combination) in enumerate(resolved):
        if spec.id is not None:
            variant = existing[spec.id]
            crossed = crossed or _moves(variant, spec, combination)
            stock_changes.append(
                StockChange(
                    product_id=product.pk,
                    variant_id=variant.pk,
                    sku=spec.sku,
                    before=variant.stock,
                    after=spec.stock,
                )
            )
        else:
            variant = ProductVariant(product=product, position=position + index)
            crossed = True
        variant.sku = spec.sku
        variant.options = display
        variant.combination = combination
        variant.price = to_cents(spec.price)
        variant.compare_at_price = (
            to_cents(spec.compare_at_price) if spec.compare_at_price is not None else None
        )
        variant.stock = spec.stock
        variant.is_active = spec.is_active
        if spec.position is not None:
            variant.position = spec.position
        save_variant(variant)
        written.append(variant)
    announce_crossings(stock_changes)
    product.options = list(options)
    return crossed


# Single variants ---------------------------------------------------------------------------


@transaction.atomic
def variant_create(
    *,
    product_id: int,
    sku: str,
    price: Decimal,
    stock: int,
    options: Mapping[str, str] | None = None,
    compare_at_price: Decimal | None = None,
    is_active: bool = True,
    position: int | None = None,
    if_match: Sequence[str] | None = None,
) -> ProductVariant:
    """Add a variant to a product that has options (a product without has one, its default)."""
    product = lock_product(product_id)
    check_version(product, if_match)
    if not product.options:
        raise ValidationFailed(
            "This product has no options, so it has exactly one variant; give it options "
            "first (PUT /api/products/{id} with options and variants).",
            extra={"field": "options"},
        )
    live = ProductVariant.objects.filter(product=product).count()
    if live >= MAX_VARIANTS:
        raise ValidationFailed(
            f"A product has at most {MAX_VARIANTS} variants.", extra={"field": "variants"}
        )
    display, combination = resolve_combination(product.options, options or {})
    price = to_cents(price)
    compare = to_cents(compare_at_price) if compare_at_price is not None else None
    _check_price(price, compare, where="compare_at_price")
    if _sku_taken(sku):
        raise Conflict(f"A variant with sku {sku!r} already exists.", extra={"field": "sku"})
    if ProductVariant.objects.filter(product=product, combination=combination).exists():
        raise Conflict(
            "Another live variant of this product has the same option values.",
            extra={"field": "options"},
        )
    before = _summary_of(product)
    variant = ProductVariant(
        product=product,
        sku=sku,
        options=display,
        combination=combination,
        price=price,
        compare_at_price=compare,
        stock=stock,
        is_active=is_active,
        position=_next_position(product) if position is None else position,
    )
    save_variant(variant)
    after = refresh_summary(product_ids=[product.pk])[product.pk]
    _changed(product, before, after, membership=True)
    emit_product("product.updated", product_id=product.pk)
    return variant


def _variant_for_update(
    product: Product, variant_id: int, *, deleted_too: bool = False
) -> ProductVariant:
    manager = ProductVariant.all_objects if deleted_too else ProductVariant.objects
    variant = manager.select_for_update(of=("self",)).filter(pk=variant_id, product=product).first()
    if variant is None:
        raise NotFound(f"No variant with id {variant_id} in product {product.pk}.")
    return variant


def _add_stock(variant: ProductVariant, delta: int) -> None:
    """Add ``delta`` to the locked ``variant``'s stock in one conditional ``UPDATE``.

    The bound is checked by the database on the row as it is, so the rule holds even
    against a writer that skipped the product lock (a checkout's own conditional
    statement). Out of bounds: a :class:`Conflict`, and nothing changed.
    """
    before = variant.stock
    bound = {"stock__gte": -delta} if delta < 0 else {"stock__lte": MAX_STOCK - delta}
    updated = ProductVariant.objects.filter(pk=variant.pk, **bound).update(
        stock=F("stock") + delta, updated_at=timezone.now()
    )
    if not updated:
        limit = "below 0" if delta < 0 else f"above {MAX_STOCK}"
        raise Conflict(
            f"stock_delta {delta} would take the stock of variant {variant.pk} ({before}) "
            f"{limit}; nothing changed.",
            extra={"field": "stock_delta"},
        )
    variant.refresh_from_db(fields=["stock", "updated_at"])


def _rename(product: Product, variant: ProductVariant, sku: str) -> None:
    """A new sku for ``variant``; a default variant's is the product's too, kept in step."""
    if _sku_taken(sku, exclude=[variant.pk]):
        raise Conflict(f"A variant with sku {sku!r} already exists.", extra={"field": "sku"})
    if not product.options:
        if Product.objects.filter(sku=sku).exclude(pk=product.pk).exists():
            raise Conflict(f"A product with sku {sku!r} already exists.", extra={"field": "sku"})
        Product.objects.filter(pk=product.pk).update(sku=sku, updated_at=timezone.now())
    variant.sku = sku


def _recombine(product: Product, variant: ProductVariant, options: Mapping[str, str]) -> bool:
    """New option values for ``variant``; whether its combination changed (a membership change)."""
    display, combination = resolve_combination(product.options, options)
    changed = combination != variant.combination
    if (
        changed
        and ProductVariant.objects.filter(product=product, combination=combination)
        .exclude(pk=variant.pk)
        .exists()
    ):
        raise Conflict(
            "Another live variant of this product has the same option values.",
            extra={"field": "options"},
        )
    variant.options, variant.combination = display, combination
    return changed


@transaction.atomic
def variant_update(
    *,
    product_id: int,
    variant_id: int,
    sku: str | Unset = UNSET,
    options: Mapping[str, str] | Unset = UNSET,
    price: Decimal | Unset = UNSET,
    compare_at_price: Decimal | Unset | None = UNSET,
    stock: int | Unset = UNSET,
    stock_delta: int | Unset = UNSET,
    is_active: bool | Unset = UNSET,
    position: int | Unset = UNSET,
    if_match: Sequence[str] | None = None,
) -> ProductVariant:
    """Change the given fields of a live variant.

    ``stock_delta`` adds to the stock atomically (one conditional ``UPDATE``, no read
    first), so a restock never fights a sale; below zero is a :class:`Conflict` and
    nothing changes. It cannot be combined with ``stock``.
    """
    if not isinstance(stock, Unset) and not isinstance(stock_delta, Unset):
        raise ValidationFailed(
            "Send stock or stock_delta, not both.", extra={"field": "stock_delta"}
        )
    product = lock_product(product_id)
    check_version(product, if_match)
    variant = _variant_for_update(product, variant_id)
    before = _summary_of(product)
    stock_before = variant.stock
    membership = False
    if not isinstance(stock_delta, Unset) and stock_delta != 0:
        _add_stock(variant, stock_delta)
    if not isinstance(sku, Unset) and sku != variant.sku:
        _rename(product, variant, sku)
        membership = True  # the search finds a variant by its exact sku
    if not isinstance(options, Unset):
        membership = _recombine(product, variant, options) or membership
    if not isinstance(price, Unset):
        # Price filters apply to each variant: any price change can move the product.
        membership = membership or to_cents(price) != variant.price
        variant.price = to_cents(price)
    if not isinstance(compare_at_price, Unset):
        variant.compare_at_price = (
            to_cents(compare_at_price) if compare_at_price is not None else None
        )
    if not isinstance(stock, Unset):
        variant.stock = stock
    if not isinstance(is_active, Unset):
        membership = membership or is_active != variant.is_active
        variant.is_active = is_active
    if not isinstance(position, Unset):
        variant.position = position
    _check_price(variant.price, variant.compare_at_price, where="compare_at_price")
    membership = membership or crosses_zero(before=stock_before, after=variant.stock)
    save_variant(variant)
    announce_crossings(
        [
            StockChange(
                product_id=product.pk,
                variant_id=variant.pk,
                sku=variant.sku,
                before=stock_before,
                after=variant.stock,
            )
        ]
    )
    after = refresh_summary(product_ids=[product.pk])[product.pk]
    _changed(product, before, after, membership=membership)
    emit_product("product.updated", product_id=product.pk)
    return variant


@transaction.atomic
def variant_soft_delete(
    *, product_id: int, variant_id: int, if_match: Sequence[str] | None = None
) -> None:
    """Hide a variant everywhere (orders keep pointing at it). A product keeps at least one."""
    product = lock_product(product_id)
    check_version(product, if_match)
    variant = _variant_for_update(product, variant_id)
    if ProductVariant.objects.filter(product=product).count() <= 1:
        raise Conflict(
            "This is the product's last variant; delete the product instead.",
            extra={"field": "variant_id"},
        )
    before = _summary_of(product)
    now = timezone.now()
    ProductVariant.objects.filter(pk=variant.pk).update(deleted_at=now, updated_at=now)
    after = refresh_summary(product_ids=[product.pk])[product.pk]
    _changed(product, before, after, membership=True)
    emit_product("product.updated", product_id=product.pk)


@transaction.atomic
def variant_restore(
    *, product_id: int, variant_id: int, if_match: Sequence[str] | None = None
) -> ProductVariant:
    """Bring a soft-deleted variant back; a no-op for a live one.

    :class:`Conflict` if a live variant took its sku or its option values meanwhile, or
    the product's options no longer fit it.
    """
    product = lock_product(product_id)
    check_version(product, if_match)
    variant = _variant_for_update(product, variant_id, deleted_too=True)
    if variant.deleted_at is None:
        return variant
    try:
        display, combination = resolve_combination(product.options, variant.options)
    except ValidationFailed as error:
        raise Conflict(
            f"The product's options changed since this variant was deleted: {error.message}",
            extra={"field": "options"},
        ) from None
    if ProductVariant.objects.filter(product=product).count() >= MAX_VARIANTS:
        raise Conflict(
            f"A product has at most {MAX_VARIANTS} variants.", extra={"field": "variants"}
        )
    if _sku_taken(variant.sku, exclude=[variant.pk]):
        raise Conflict(
            f"A live variant took sku {variant.sku!r} meanwhile.", extra={"field": "sku"}
        )
    if ProductVariant.objects.filter(product=product, combination=combination).exists():
        raise Conflict(
            "A live variant of this product has the same option values.", extra={"field": "options"}
        )
    before = _summary_of(product)
    variant.options, variant.combination, variant.deleted_at = display, combination, None
    save_variant(variant)
    after = refresh_summary(product_ids=[product.pk])[product.pk]
    _changed(product, before, after, membership=True)
    emit_product("product.updated", product_id=product.pk)
    return variant
