"""Writes to the catalogue. Keyword-only, typed, transactional; no HTTP in here.

Services take ids, lock what they change, and answer domain errors
(:mod:`nexus_shop.exceptions`). Concurrency rules, for PostgreSQL:

* A write that points at a category (a product's ``category_id``, a category's
  ``parent_id``, a restored category's parent) holds ``FOR KEY SHARE`` on it, and
  deleting a category takes ``FOR UPDATE`` first: whichever comes second sees the other's
  result (422 "no such category", or 409 "it has products") instead of a category holding
  products or live children once deleted. (The soft delete itself is an ``UPDATE`` of no
  key, which ``FOR KEY SHARE`` would not hold off: the explicit ``FOR UPDATE`` does.)
* Moves in the category tree are serialised by one advisory lock, so two moves can neither
  deadlock nor, between them, make a cycle.

Every write tells :mod:`nexus_shop.invalidation` what it changed, inside its transaction
(caches and CDN purges follow on commit), and emits its event into the outbox in the same
transaction (:mod:`nexus_shop.services.event_payloads`): one per call, however many rows
it wrote. Writes to one existing row take ``if_match``:
the entity tags of the client's ``If-Match`` header, compared with the row's current
version (:mod:`nexus_shop.versions`) while it is locked; a stale one is
:class:`~nexus_shop.exceptions.PreconditionFailed` and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet, Value
from django.db.models.functions import Concat, Length, Replace, Substr
from django.utils import timezone
from django.utils.text import slugify

from nexus_shop import invalidation, versions
from nexus_shop.conf import conf
from nexus_shop.exceptions import Conflict, NotFound, ValidationFailed
from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.money import to_cents
from nexus_shop.services import variants as variant_services
from nexus_shop.services.event_payloads import emit_category, emit_product
from nexus_shop.services.locks import advisory_lock, key_share_lock
from nexus_shop.services.stock import StockChange, announce_crossings, crosses_zero
from nexus_shop.services.summary import refresh_summary, sync_option_rows
from nexus_shop.services.variants import UNSET, Unset

# How often a create whose derived slug was taken meanwhile tries the next one.
_SAVE_ATTEMPTS = 5
_TREE_LOCK = "nexus_shop:category-tree"


def _slug_base(text: str, *, fallback: str, max_length: int) -> str:
    """A slug from ``text`` (Unicode letters kept: "Чайник" -> "чайник"), else ``fallback``."""
    slug = slugify(text, allow_unicode=True)[:max_length].strip("-")
    return slug or fallback


def _slug_candidates(base: str, *, max_length: int) -> Iterator[str]:
    """``base``, ``base-2``, ``base-3``... (``base`` cut short to fit the suffix)."""
    yield base
    n = 2
    while True:
        suffix = f"-{n}"
        yield f"{base[: max_length - len(suffix)]}{suffix}"
        n += 1


def _free_slug(base: str, taken: set[str], *, max_length: int) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not in ``taken``."""
    return next(c for c in _slug_candidates(base, max_length=max_length) if c not in taken)


def _unused_slug(base: str, rows: QuerySet[Any], *, max_length: int) -> str:
    """The first of ``base``, ``base-2``, ... that no row of ``rows`` has.

    Looks the candidates up by exact slug, 20 at a time (an index probe each), rather than
    reading every slug that starts with ``base``: a product named "A" would read every
    slug starting with "a".
    """
    candidates = _slug_candidates(base, max_length=max_length)
    while True:
        batch = list(islice(candidates, 20))
        taken = set(rows.filter(slug__in=batch).values_list("slug", flat=True))
        for candidate in batch:
            if candidate not in taken:
                return candidate


def _lock_slug_base(model: type[Any], base: str) -> None:
    """Serialise the derivation of slugs from the same ``base`` until the transaction ends.

    Without it, concurrent creates of the same name all saw ``base`` free and all but one
    failed on the unique constraint: a 409 "slug already exists" for a slug the client
    never sent.
    """
    advisory_lock(f"nexus_shop:slug:{model._meta.label_lower}:{base}")


def _depth(path: str) -> int:
    """Levels in a materialised path: ``"/1/5/12/"`` is 3."""
    return path.count("/") - 1


def _check_depth(depth: int) -> None:
    limit = conf.CATEGORY_MAX_DEPTH
    if depth > limit:
        raise ValidationFailed(
            f"Categories nest at most {limit} levels deep (NEXUS_SHOP_CATEGORY_MAX_DEPTH); "
            f"this would make {depth}.",
            extra={"field": "parent_id"},
        )


def _subtree_height(path: str) -> int:
    """Levels from the category at ``path`` down to its deepest descendant (1 for a leaf).

    Soft-deleted descendants count: they may be restored where they are.
    """
    slashes = Length("path") - Length(Replace("path", Value("/"), Value("")))
    deepest = Category.all_objects.filter(path__startswith=path).aggregate(deepest=Max(slashes))
    return int(deepest["deepest"] or path.count("/")) - path.count("/") + 1


def _locked_live_category(category_id: int) -> Category | None:
    """The live category ``category_id``, locked against deletion until the transaction
    ends; ``None`` if there is none or it is soft-deleted.

    The lock comes first and the row is read after it, so a soft delete that held the row
    meanwhile is seen (PostgreSQL reads each statement from a fresh snapshot).
    """
    if not key_share_lock(Category, category_id):
        return None
    return Category.objects.filter(pk=category_id).first()


def _referenced_category(category_id: int | None, *, field: str) -> Category | None:
    """The category a write points at, locked against deletion until the transaction ends.

    A soft-deleted category is refused as a missing one is.
    """
    if category_id is None:
        return None
    category = _locked_live_category(category_id)
    if category is None:
        raise ValidationFailed(f"No category with id {category_id}.", extra={"field": field})
    return category


# Categories -----------------------------------------------------------------------------------


@transaction.atomic
def category_create(
    *,
    name: str,
    slug: str | None = None,
    description: str = "",
    parent_id: int | None = None,
) -> Category:
    """Create a category. A slug left out is derived from the name and made unique."""
    parent = _referenced_category(parent_id, field="parent_id")
    _check_depth(_depth(parent.path) + 1 if parent else 1)
    derived = slug is None
    base = ""
    if slug is None:
        base = _slug_base(name, fallback="category", max_length=200)
        _lock_slug_base(Category, base)
        slug = _unused_slug(base, Category.objects.all(), max_length=200)
    elif Category.objects.filter(slug=slug).exists():
        raise Conflict(f"A category with slug {slug!r} already exists.", extra={"field": "slug"})
    category = Category(name=name, slug=slug, description=description, parent=parent)
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with transaction.atomic():
                category.save()
            break
        except IntegrityError:
            # A client-sent slug that a concurrent write took: 409. A derived slug that a
            # concurrent write with an explicit slug took: derive the next one.
            if not derived or attempt == _SAVE_ATTEMPTS - 1:
                raise Conflict(
                    f"A category with slug {category.slug!r} already exists.",
                    extra={"field": "slug"},
                ) from None
            category.slug = _unused_slug(base, Category.objects.all(), max_length=200)
    category.path = f"{parent.path if parent else '/'}{category.pk}/"
    category.save(update_fields=["path"])
    invalidation.categories_changed(category_ids=[category.pk])
    emit_category("category.created", category_id=category.pk)
    return category


def _check_category_version(category: Category, if_match: Sequence[str] | None) -> None:
    if if_match is None:
        return
    from nexus_shop.selectors.categories import attach_product_counts

    attach_product_counts([category])
    versions.check(versions.category_version(category), if_match)


@transaction.atomic
def category_update(
    *,
    category_id: int,
    name: str | Unset = UNSET,
    slug: str | Unset | None = UNSET,
    description: str | Unset | None = UNSET,
    parent_id: int | Unset | None = UNSET,
    if_match: Sequence[str] | None = None,
) -> Category:
    """Change the given fields; moving a category (``parent_id``) moves its whole subtree."""
    moving = not isinstance(parent_id, Unset)
    if moving:
        advisory_lock(_TREE_LOCK)  # before any row lock: moves queue here, never deadlock
    category = Category.objects.select_for_update(no_key=True).filter(pk=category_id).first()
    if category is None:
        raise NotFound(f"No category with id {category_id}.")
    _check_category_version(category, if_match)
    if not isinstance(name, Unset):
        category.name = name
    if not isinstance(description, Unset):
        category.description = description or ""
    if not isinstance(slug, Unset) and slug is not None and slug != category.slug:
        if Category.objects.filter(slug=slug).exclude(pk=category.pk).exists():
            raise Conflict(
                f"A category with slug {slug!r} already exists.", extra={"field": "slug"}
            )
        category.slug = slug

    old_path = category.path
    if moving and parent_id != category.parent_id:
        assert not isinstance(parent_id, Unset)  # noqa: S101  (narrows the type for mypy)
        parent = _referenced_category(parent_id, field="parent_id")
        if parent is not None and parent.path.startswith(old_path):
            raise ValidationFailed(
                "A category cannot be its own ancestor.", extra={"field": "parent_id"}
            )
        _check_depth((_depth(parent.path) if parent else 0) + _subtree_height(old_path))
        category.parent = parent
        category.path = f"{parent.path if parent else '/'}{category.pk}/"

    try:
        with transaction.atomic():
            category.save()
    except IntegrityError:
        raise Conflict(
            f"A category with slug {category.slug!r} already exists.", extra={"field": "slug"}
        ) from None

    if category.path != old_path:
        # Soft-deleted descendants move too: a restore brings them back under their parent.
        Category.all_objects.filter(path__startswith=old_path).exclude(pk=category.pk).update(
            path=Concat(Value(category.path), Substr("path", len(old_path) + 1))
        )
    invalidation.categories_changed(category_ids=[category.pk])
    emit_category("category.updated", category_id=category.pk)
    return category


@transaction.atomic
def category_delete(*, category_id: int, if_match: Sequence[str] | None = None) -> None:
    """Soft-delete a category without live children or products (soft-deleted products
    count: they may be restored). The row stays; see :func:`category_restore`.

    It disappears from every read, its slug is free for a new category, and no write may
    point at it (a product's ``category_id``, a category's ``parent_id``).
    """
    # FOR UPDATE, not the NO KEY UPDATE the write needs: it waits for the writes that hold
    # FOR KEY SHARE on the category (a product or child filed under it meanwhile).
    category = Category.objects.select_for_update().filter(pk=category_id).first()
    if category is None:
        raise NotFound(f"No category with id {category_id}.")
    _check_category_version(category, if_match)
    if Category.objects.filter(parent_id=category_id).exists():
        raise Conflict("This category has child categories; move or delete them first.")
    if Product.all_objects.filter(category_id=category_id).exists():
        raise Conflict(
            "This category still has products (soft-deleted ones included); "
            "move them to another category first."
        )
    now = timezone.now()
    Category.all_objects.filter(pk=category_id).update(deleted_at=now, updated_at=now)
    invalidation.categories_changed(category_ids=[category_id])
    emit_category("category.deleted", category_id=category_id)


@transaction.atomic
def category_restore(*, category_id: int, if_match: Sequence[str] | None = None) -> Category:
    """Bring a soft-deleted category back where it was. Restoring a live category is a no-op.

    Raises :class:`Conflict` if its parent is soft-deleted (restore the parent first) or a
    live category took its slug meanwhile. Its deleted descendants stay deleted.
    """
    category = Category.all_objects.select_for_update(no_key=True).filter(pk=category_id).first()
    if category is None:
        raise NotFound(f"No category with id {category_id}.")
    _check_category_version(category, if_match)
    if category.deleted_at is None:
        return category
    if category.parent_id is not None and _locked_live_category(category.parent_id) is None:
        raise Conflict(
            "This category's parent is deleted; restore the parent first.",
            extra={"field": "parent_id"},
        )
    taken = f"A category with slug {category.slug!r} already exists."
    if Category.objects.filter(slug=category.slug).exists():
        raise Conflict(taken, extra={"field": "slug"})
    now = timezone.now()
    try:
        with transaction.atomic():
            Category.all_objects.filter(pk=category_id).update(deleted_at=None, updated_at=now)
    except IntegrityError:  # a concurrent write took the slug
        raise Conflict(taken, extra={"field": "slug"}) from None
    category.deleted_at, category.updated_at = None, now
    invalidation.categories_changed(category_ids=[category_id])
    emit_category("category.restored", category_id=category_id)
    return category


# Products -------------------------------------------------------------------------------------


def _check_live_unique(*, slug: str | None, sku: str | None, exclude_pk: int | None) -> None:
    live = Product.objects.all()
    if exclude_pk is not None:
        live = live.exclude(pk=exclude_pk)
    if sku is not None and live.filter(sku=sku).exists():
        raise Conflict(f"A product with sku {sku!r} already exists.", extra={"field": "sku"})
    if slug is not None and live.filter(slug=slug).exists():
        raise Conflict(f"A product with slug {slug!r} already exists.", extra={"field": "slug"})


def _product_slug_base(name: str, sku: str) -> str:
    return _slug_base(name, fallback="", max_length=240) or _slug_base(
        sku, fallback="product", max_length=240
    )


def _save_product(product: Product, *, derived_slug_base: str | None = None) -> None:
    """Save; a lost race on the slug or sku is a :class:`Conflict`.

    With ``derived_slug_base`` (the slug was derived, not sent), losing the slug to a
    concurrent write derives the next free one instead.
    """
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with transaction.atomic():
                product.save()
            return
        except IntegrityError:
            # Lost a race with a concurrent write of the same slug or sku.
            if derived_slug_base is None or attempt == _SAVE_ATTEMPTS - 1:
                _check_live_unique(slug=product.slug, sku=product.sku, exclude_pk=product.pk)
                raise Conflict("A product with this slug or sku already exists.") from None
            _check_live_unique(slug=None, sku=product.sku, exclude_pk=product.pk)
            product.slug = _unused_slug(derived_slug_base, Product.objects.all(), max_length=255)


def _variant_specs(
    *,
    sku: str,
    price: Decimal | None,
    stock: int | None,
    options: Sequence[Mapping[str, Any]] | None,
    variant_data: Sequence[Mapping[str, Any]] | None,
) -> list[variant_services.VariantSpec]:
    """What a product create asks for: its ``variants``, or one default variant."""
    if variant_data is not None:
        if price is not None or stock is not None:
            raise ValidationFailed(
                "With variants, price and stock belong to each variant; leave them out of "
                "the product.",
                extra={"field": "price" if price is not None else "stock"},
            )
        return [variant_services.VariantSpec.of(data) for data in variant_data]
    if options:
        raise ValidationFailed(
            "A product with options needs its variants (one per combination you sell).",
            extra={"field": "variants"},
        )
    if price is None or stock is None:
        raise ValidationFailed(
            "price and stock are required for a product without variants.",
            extra={"field": "price" if price is None else "stock"},
        )
    return [variant_services.VariantSpec(sku=sku, price=price, stock=stock)]


@transaction.atomic
def product_create(
    *,
    name: str,
    sku: str,
    price: Decimal | None = None,
    stock: int | None = None,
    slug: str | None = None,
    description: str = "",
    category_id: int | None = None,
    is_active: bool = True,
    options: Sequence[Mapping[str, Any]] | None = None,
    variants: Sequence[Mapping[str, Any]] | None = None,
) -> Product:
    """Create a product in the shop's currency, with its variants.

    Without ``variants``, ``price`` and ``stock`` make its one default variant (sku: the
    product's). A slug left out is derived from the name (or the sku) and made unique; a
    slug or sku sent that a live product already has is a :class:`Conflict`.
    """
    specs = _variant_specs(
        sku=sku, price=price, stock=stock, options=options, variant_data=variants
    )
    category = _referenced_category(category_id, field="category_id")
    _check_live_unique(slug=slug, sku=sku, exclude_pk=None)
    base = None
    if slug is None:
        base = _product_slug_base(name, sku)
        _lock_slug_base(Product, base)
        slug = _unused_slug(base, Product.objects.all(), max_length=255)
    first = to_cents(specs[0].price)
    product = Product(
        name=name,
        slug=slug,
        sku=sku,
        description=description,
        price=first,
        price_max=first,
        currency=conf.CURRENCY,
        stock=0,
        category=category,
        is_active=is_active,
        options=list(options or []),
    )
    _save_product(product, derived_slug_base=base)
    variant_services.replace_variants(product=product, options=product.options, specs=specs)
    _refresh(product)
    invalidation.products_changed(product_ids=[product.pk], membership=True)
    emit_product("product.created", product_id=product.pk, current=product)
    return product


def _refresh(product: Product) -> None:
    """Save ``options`` and reload the summary columns the variant write just refreshed."""
    Product.all_objects.filter(pk=product.pk).update(options=product.options)
    summary_ = refresh_summary(product_ids=[product.pk])[product.pk]
    product.price, product.price_max = summary_.price, summary_.price_max
    product.stock, product.active_variant_count = summary_.stock, summary_.active_variant_count
    product.option_words = summary_.option_words


# Fields that decide which filtered, searched or sorted lists a product appears in, and where.
_MEMBERSHIP_FIELDS = invalidation.MEMBERSHIP_FIELDS


@transaction.atomic
def product_update(
    *,
    product_id: int,
    name: str | Unset = UNSET,
    slug: str | Unset | None = UNSET,
    sku: str | Unset = UNSET,
    description: str | Unset | None = UNSET,
    price: Decimal | Unset | None = UNSET,
    stock: int | Unset | None = UNSET,
    category_id: int | Unset | None = UNSET,
    is_active: bool | Unset = UNSET,
    options: Sequence[Mapping[str, Any]] | Unset | None = UNSET,
    variants: Sequence[Mapping[str, Any]] | Unset | None = UNSET,
    if_match: Sequence[str] | None = None,
) -> Product:
    """Change the given fields of a live product. A slug left out (or null) stays as it is.

    ``price`` and ``stock`` write the default variant of a product with one variant; on a
    product with several they are a :class:`ValidationFailed` naming the variant endpoint.
    ``options`` and ``variants`` replace the product's (PUT): variants matched by ``id``
    are updated, new ones created, live ones left out soft-deleted. ``variants`` left out
    (``UNSET`` or None) leaves the variants as they are.
    """
    product = variant_services.lock_product(product_id)
    variant_services.check_version(product, if_match)
    before = {name: getattr(product, name) for name in _MEMBERSHIP_FIELDS}
    summary_before = (product.price, product.price_max, product.stock, product.active_variant_count)
    changes: dict[str, Any] = {
        key: value
        for key, value in {"name": name, "sku": sku, "is_active": is_active}.items()
        if not isinstance(value, Unset)
    }
    if not isinstance(slug, Unset) and slug is not None:
        changes["slug"] = slug
    if not isinstance(description, Unset):
        changes["description"] = description or ""
    if not isinstance(category_id, Unset):
        changes["category"] = _referenced_category(category_id, field="category_id")
    _check_live_unique(
        slug=changes["slug"] if changes.get("slug") not in (None, product.slug) else None,
        sku=changes["sku"] if changes.get("sku") not in (None, product.sku) else None,
        exclude_pk=product.pk,
    )
    new_options = (
        list(product.options) if isinstance(options, Unset) or options is None else list(options)
    )
    variant_data = None if isinstance(variants, Unset) else variants
    price_ = None if isinstance(price, Unset) else price
    stock_ = None if isinstance(stock, Unset) else stock
    if variant_data is not None and (price_ is not None or stock_ is not None):
        raise ValidationFailed(
            "With variants, price and stock belong to each variant; leave them out of the product.",
            extra={"field": "price" if price_ is not None else "stock"},
        )
    for key, value in changes.items():
        setattr(product, key, value)
    product.options = list(product.options)
    _save_product(product)
    crossed = False
    if variant_data is not None or new_options != product.options:
        specs = (
            None
            if variant_data is None
            else [variant_services.VariantSpec.of(d) for d in variant_data]
        )
        crossed = variant_services.replace_variants(
            product=product, options=new_options, specs=specs
        )
    if price_ is not None or stock_ is not None or "sku" in changes:
        crossed = (
            _write_default_variant(product, price=price_, stock=stock_, sku=changes.get("sku"))
            or crossed
        )
    _refresh(product)
    summary_after = (product.price, product.price_max, product.stock, product.active_variant_count)
    membership = (
        crossed
        or crosses_zero(before=summary_before[2], after=summary_after[2])
        or summary_before[:2] != summary_after[:2]
        or summary_before[3] != summary_after[3]
        or any(getattr(product, name) != value for name, value in before.items())
    )
    invalidation.products_changed(product_ids=[product.pk], membership=membership)
    emit_product("product.updated", product_id=product.pk, current=product)
    return product


def _write_default_variant(
    product: Product, *, price: Decimal | None, stock: int | None, sku: str | None
) -> bool:
    """The old single-sku writes (``price``, ``stock``, ``sku`` on the product) on its variant.

    A product without options keeps its one variant's sku equal to its own. ``price`` and
    ``stock`` need a product with exactly one live variant. Returns whether the stock
    crossed zero (and announces it: :func:`~nexus_shop.services.stock.announce_crossings`).
    """
    live = list(ProductVariant.objects.select_for_update(of=("self",)).filter(product=product)[:2])
    if (price is not None or stock is not None) and len(live) != 1:
        raise ValidationFailed(
            f"This product has {ProductVariant.objects.filter(product=product).count()} "
            "variants: set price and stock on each with PATCH "
            f"/api/products/{product.pk}/variants/{{variant_id}}.",
            extra={"field": "price" if price is not None else "stock"},
        )
    if not live:
        return False
    variant = live[0]
    if product.options or len(live) != 1:
        sku = None  # the product's own code; its variants keep theirs
    before = variant.stock
    if price is not None:
        variant.price = to_cents(price)
        if variant.compare_at_price is not None and variant.compare_at_price <= variant.price:
            # Refused, not cleared: the client may not know the "was" price exists.
            raise ValidationFailed(
                f"The default variant's compare_at_price ({variant.compare_at_price}) must stay "
                f"above its price ({variant.price}); change both with PATCH "
                f"/api/products/{product.pk}/variants/{variant.pk}.",
                extra={"field": "price"},
            )
    if stock is not None:
        variant.stock = stock
    if sku is not None:
        variant.sku = sku
    variant_services.save_variant(variant)
    change = StockChange(
        product_id=product.pk,
        variant_id=variant.pk,
        sku=variant.sku,
        before=before,
        after=variant.stock,
    )
    announce_crossings([change])
    return crosses_zero(before=before, after=variant.stock)


@transaction.atomic
def product_soft_delete(*, product_id: int, if_match: Sequence[str] | None = None) -> None:
    """Hide the product everywhere public. The row stays; see :func:`product_restore`."""
    product = variant_services.lock_product(product_id)
    variant_services.check_version(product, if_match)
    now = timezone.now()
    Product.objects.filter(pk=product_id).update(deleted_at=now, updated_at=now)
    # Its live variants go with it, at the same instant: a restore brings back those only,
    # and their skus are free for live products meanwhile.
    ProductVariant.objects.filter(product_id=product_id).update(deleted_at=now, updated_at=now)
    # Its summary columns stay (staff lists show a deleted product's price); its option
    # rows, which list live variants only, go.
    sync_option_rows({product_id: []})
    invalidation.products_changed(product_ids=[product_id], membership=True)
    emit_product("product.deleted", product_id=product_id)


@transaction.atomic
def product_restore(*, product_id: int, if_match: Sequence[str] | None = None) -> Product:
    """Bring a soft-deleted product back. Restoring a live product is a no-op.

    Raises :class:`Conflict` if a live product took its slug or sku meanwhile.
    """
    product = variant_services.lock_product(product_id, deleted_too=True)
    variant_services.check_version(product, if_match)
    if product.deleted_at is None:
        return product
    _check_live_unique(slug=product.slug, sku=product.sku, exclude_pk=product.pk)
    deleted_with_it = ProductVariant.all_objects.filter(
        product=product, deleted_at=product.deleted_at
    )
    taken = ProductVariant.objects.filter(sku__in=deleted_with_it.values("sku")).values_list(
        "sku", flat=True
    )
    for sku in taken[:1]:
        raise Conflict(f"A live variant took sku {sku!r} meanwhile.", extra={"field": "sku"})
    deleted_with_it.update(deleted_at=None, updated_at=timezone.now())
    product.deleted_at = None
    _save_product(product)
    _refresh(product)
    invalidation.products_changed(product_ids=[product.pk], membership=True)
    emit_product("product.restored", product_id=product.pk, current=product)
    return product
