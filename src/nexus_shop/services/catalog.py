"""Writes to the catalogue. Keyword-only, typed, transactional; no HTTP in here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.text import slugify

from nexus_shop.conf import conf
from nexus_shop.exceptions import Conflict, NotFound, ValidationFailed
from nexus_shop.models import Category, Product


class _Unset:
    """Marks a keyword the caller did not pass (so ``None`` can mean "set to null")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

_MAX_SLUG_ATTEMPTS = 50


def _slug_from(name: str, *, max_length: int) -> str:
    slug = slugify(name)[:max_length].strip("-")
    if not slug:
        raise ValidationFailed(
            "Cannot derive a slug from this name; send a slug.", extra={"field": "slug"}
        )
    return slug


def _category_or_error(category_id: int | None, *, field: str = "category_id") -> Category | None:
    if category_id is None:
        return None
    category = Category.objects.filter(pk=category_id).first()
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
    parent = _category_or_error(parent_id, field="parent_id")
    slug = slug or _slug_from(name, max_length=200)
    if Category.objects.filter(slug=slug).exists():
        raise Conflict(f"A category with slug {slug!r} already exists.", extra={"field": "slug"})
    category = Category(name=name, slug=slug, description=description, parent=parent)
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError:
        raise Conflict(
            f"A category with slug {slug!r} already exists.", extra={"field": "slug"}
        ) from None
    category.path = f"{parent.path if parent else '/'}{category.pk}/"
    category.save(update_fields=["path"])
    return category


@transaction.atomic
def category_update(
    *,
    category: Category,
    name: str | _Unset = UNSET,
    slug: str | _Unset | None = UNSET,
    description: str | _Unset | None = UNSET,
    parent_id: int | _Unset | None = UNSET,
) -> Category:
    """Change the given fields; moving a category (``parent_id``) moves its whole subtree."""
    locked = Category.objects.select_for_update().filter(pk=category.pk).first()
    if locked is None:
        raise NotFound(f"No category with id {category.pk}.")
    category = locked
    if not isinstance(name, _Unset):
        category.name = name
    if not isinstance(description, _Unset):
        category.description = description or ""
    if not isinstance(slug, _Unset) and slug is not None and slug != category.slug:
        if Category.objects.filter(slug=slug).exclude(pk=category.pk).exists():
            raise Conflict(
                f"A category with slug {slug!r} already exists.", extra={"field": "slug"}
            )
        category.slug = slug

    old_path = category.path
    if not isinstance(parent_id, _Unset) and parent_id != category.parent_id:
        parent = _category_or_error(parent_id, field="parent_id")
        if parent is not None and parent.path.startswith(old_path):
            raise ValidationFailed(
                "A category cannot be its own ancestor.", extra={"field": "parent_id"}
            )
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
        Category.objects.filter(path__startswith=old_path).exclude(pk=category.pk).update(
            path=Concat(Value(category.path), Substr("path", len(old_path) + 1))
        )
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete a leaf category with no products (soft-deleted ones count: they may be restored)."""
    if Category.objects.filter(parent=category).exists():
        raise Conflict("This category has child categories; move or delete them first.")
    if Product.all_objects.filter(category=category).exists():
        raise Conflict(
            "This category still has products (soft-deleted ones included); "
            "move them to another category first."
        )
    category.delete()


# Products -------------------------------------------------------------------------------------


def _check_live_unique(*, slug: str | None, sku: str | None, exclude_pk: int | None) -> None:
    live = Product.objects.all()
    if exclude_pk is not None:
        live = live.exclude(pk=exclude_pk)
    if sku is not None and live.filter(sku=sku).exists():
        raise Conflict(f"A product with sku {sku!r} already exists.", extra={"field": "sku"})
    if slug is not None and live.filter(slug=slug).exists():
        raise Conflict(f"A product with slug {slug!r} already exists.", extra={"field": "slug"})


def _free_slug(base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever no live product uses yet."""
    taken = set(Product.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    for n in range(2, _MAX_SLUG_ATTEMPTS + len(taken)):
        candidate = f"{base[: 255 - len(str(n)) - 1]}-{n}"
        if candidate not in taken:
            return candidate
    raise Conflict(f"No free slug near {base!r}; send a slug.", extra={"field": "slug"})


def _save_product(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        # Lost a race with a concurrent write of the same slug or sku.
        _check_live_unique(slug=product.slug, sku=product.sku, exclude_pk=product.pk)
        raise Conflict("A product with this slug or sku already exists.") from None


@transaction.atomic
def product_create(
    *,
    name: str,
    sku: str,
    price: Decimal,
    stock: int,
    slug: str | None = None,
    description: str = "",
    category_id: int | None = None,
    is_active: bool = True,
) -> Product:
    category = _category_or_error(category_id)
    _check_live_unique(slug=slug, sku=sku, exclude_pk=None)
    product = Product(
        name=name,
        slug=slug or _free_slug(_slug_from(name, max_length=240)),
        sku=sku,
        description=description,
        price=price,
        currency=conf.CURRENCY,
        stock=stock,
        category=category,
        is_active=is_active,
    )
    _save_product(product)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    name: str | _Unset = UNSET,
    slug: str | _Unset | None = UNSET,
    sku: str | _Unset = UNSET,
    description: str | _Unset | None = UNSET,
    price: Decimal | _Unset = UNSET,
    stock: int | _Unset = UNSET,
    category_id: int | _Unset | None = UNSET,
    is_active: bool | _Unset = UNSET,
) -> Product:
    """Change the given fields. A slug left out (or null) keeps the current one."""
    locked = Product.objects.select_for_update().filter(pk=product.pk).first()
    if locked is None:  # soft-deleted since the caller looked it up
        raise NotFound(f"No product with id {product.pk}.")
    product = locked
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "name": name,
            "sku": sku,
            "price": price,
            "stock": stock,
            "is_active": is_active,
        }.items()
        if not isinstance(value, _Unset)
    }
    if not isinstance(slug, _Unset) and slug is not None:
        changes["slug"] = slug
    if not isinstance(description, _Unset):
        changes["description"] = description or ""
    if not isinstance(category_id, _Unset):
        product.category = _category_or_error(category_id)
    _check_live_unique(
        slug=changes["slug"] if changes.get("slug") not in (None, product.slug) else None,
        sku=changes["sku"] if changes.get("sku") not in (None, product.sku) else None,
        exclude_pk=product.pk,
    )
    for key, value in changes.items():
        setattr(product, key, value)
    _save_product(product)
    return Product.objects.select_related("category").get(pk=product.pk)


@transaction.atomic
def product_soft_delete(*, product: Product) -> None:
    """Hide the product everywhere public. The row stays; see :func:`product_restore`."""
    updated = Product.objects.filter(pk=product.pk).update(
        deleted_at=timezone.now(), updated_at=timezone.now()
    )
    if not updated:
        raise NotFound(f"No product with id {product.pk}.")


@transaction.atomic
def product_restore(*, product_id: int) -> Product:
    """Bring a soft-deleted product back. Restoring a live product is a no-op.

    Raises :class:`Conflict` if a live product took its slug or sku meanwhile.
    """
    product = Product.all_objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound(f"No product with id {product_id}.")
    if product.deleted_at is None:
        return Product.objects.select_related("category").get(pk=product.pk)
    _check_live_unique(slug=product.slug, sku=product.sku, exclude_pk=product.pk)
    product.deleted_at = None
    _save_product(product)
    return Product.objects.select_related("category").get(pk=product.pk)
