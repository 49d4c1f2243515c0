"""Who sees which catalogue rows: every visibility rule of the catalogue, written once.

Every read of products and categories starts from :func:`visible_products` or
:func:`visible_categories`; the checkout's conditional stock ``UPDATE`` statements add
:func:`public_products_sql` and :func:`public_variants_sql`, and the facets' category
names :func:`public_categories_sql` (the same rules, compiled from
:data:`PUBLIC_PRODUCTS`, :data:`PUBLIC_VARIANTS` and :data:`PUBLIC_CATEGORIES`). What a
shopper can put in a cart is :func:`purchasable_variants`, and the cart shows a line as
purchasable by :func:`is_purchasable_variant`.

:func:`is_catalogue_staff` decides who sees more products than the public, and
:func:`is_category_staff` who may ask for deleted categories. Today the response cache
answers no request that carries credentials; a future cache of logged-in reads (issue 18)
would rely on these two rules to answer the users who see what the public sees.
"""

from __future__ import annotations

from typing import Any, Final, Protocol, cast

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.sql import Query

from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.models.catalog import LIVE


class Viewer(Protocol):
    """Who is looking: a user, ``AnonymousUser``, or anything with these two members."""

    @property
    def is_authenticated(self) -> bool: ...

    def has_perm(self, perm: str, obj: Any = None) -> bool: ...


# What the public sees of the products: live (not soft-deleted), active, and with at least
# one live, active variant to buy.
PUBLIC_PRODUCTS: Final = LIVE & Q(is_active=True, active_variant_count__gt=0)

# What the public may buy of a variant, the variant's own part: live and active. A variant is
# purchasable when this holds for it *and* PUBLIC_PRODUCTS for its product
# (:func:`purchasable_variants`); the product summary counts the same variants as active.
PUBLIC_VARIANTS: Final = LIVE & Q(is_active=True)

# What the public sees of the categories: live (not soft-deleted) ones. The category services
# keep every product out of deleted categories, so no product is hidden by its category.
PUBLIC_CATEGORIES: Final = LIVE

CATALOGUE_STAFF_PERMS: Final = (
    "nexus_shop.add_product",
    "nexus_shop.change_product",
    "nexus_shop.delete_product",
)

CATEGORY_STAFF_PERMS: Final = (
    "nexus_shop.add_category",
    "nexus_shop.change_category",
    "nexus_shop.delete_category",
)


def is_catalogue_staff(viewer: Viewer | None) -> bool:
    """Whether ``viewer`` sees inactive products (and deleted ones on request).

    Catalogue staff are the holders of **any** product write permission
    (:data:`CATALOGUE_STAFF_PERMS`): whoever may act on a hidden product must be able to see
    it. ``add_product`` may create a product inactive (a draft), and its holder reads back
    what they made; ``change_product`` edits and activates them; ``delete_product``
    soft-deletes and restores, and a restore needs the deleted product's id and ``ETag``,
    which only a read with ``include_deleted=true`` shows. Requiring ``change_product``
    alone would leave the other two acting blind.

    Not staff: anonymous users, ``is_staff`` alone (it admits to Django's admin site, it
    grants nothing here), ``view_product`` (the API has no read-only staff role: nothing in
    it is granted by a view permission) and the category permissions (they show deleted
    categories, :func:`is_category_staff`, not hidden products). A superuser holds every
    permission, so is staff.

    A pure function of the user's permissions (Django caches them on the user object), so
    a response cache can ask it for every logged-in request: a user for whom it is false
    sees exactly what an anonymous one sees.
    """
    return _holds_any(viewer, CATALOGUE_STAFF_PERMS)


def is_category_staff(viewer: Viewer | None) -> bool:
    """Whether ``viewer`` sees soft-deleted categories on request (``include_deleted``).

    Category staff are the holders of **any** category write permission
    (:data:`CATEGORY_STAFF_PERMS`), as catalogue staff are for products: ``delete_category``
    soft-deletes and restores, and a restore needs the deleted category's id and ``ETag``,
    which only a read with ``include_deleted=true`` shows; ``add_category`` and
    ``change_category`` are refused a deleted parent (422, as a missing one), and may look
    it up. Categories have no other hidden state, so that is all category staff see more.
    Not staff: as for :func:`is_catalogue_staff`, with ``view_category`` and the product
    permissions in place of the category ones.
    """
    return _holds_any(viewer, CATEGORY_STAFF_PERMS)


def _holds_any(viewer: Viewer | None, perms: tuple[str, ...]) -> bool:
    if viewer is None or not viewer.is_authenticated:
        return False
    return any(viewer.has_perm(perm) for perm in perms)


def visible_products(*, viewer: Viewer | None, include_deleted: bool = False) -> QuerySet[Product]:
    """The products ``viewer`` may see: :data:`PUBLIC_PRODUCTS`, or more for staff.

    Staff see inactive products, and soft-deleted ones too with ``include_deleted``
    (ignored for anyone else).
    """
    if is_catalogue_staff(viewer):
        return Product.all_objects.all() if include_deleted else Product.objects.all()
    return Product.all_objects.filter(PUBLIC_PRODUCTS)


def is_public_product(product: Product) -> bool:
    """:data:`PUBLIC_PRODUCTS` for a product already loaded (no query)."""
    return product.deleted_at is None and product.is_active and product.active_variant_count > 0


def _through(rule: Q, relation: str) -> Q:
    """``rule`` (a condition on one model) as a condition reached through ``relation``.

    ``_through(PUBLIC_PRODUCTS, "product")`` filters variants by their product's
    visibility: the one declaration, not a copy of its fields.
    """
    moved = Q()
    moved.connector = rule.connector
    moved.negated = rule.negated
    children: list[Any] = []
    for child in rule.children:
        if isinstance(child, Q):
            children.append(_through(child, relation))
        else:  # a (lookup, value) pair
            lookup, value = cast("tuple[str, Any]", child)
            children.append((f"{relation}__{lookup}", value))
    moved.children = children
    return moved


def purchasable_variants() -> QuerySet[ProductVariant]:
    """The variants the public may buy: :data:`PUBLIC_VARIANTS` of a :data:`PUBLIC_PRODUCTS`.

    Read at call time, so a rule added to either declaration applies here too.
    """
    return ProductVariant.all_objects.filter(PUBLIC_VARIANTS & _through(PUBLIC_PRODUCTS, "product"))


def is_purchasable_variant(variant: ProductVariant) -> bool:
    """:func:`purchasable_variants` for a variant loaded with its product (no query)."""
    return variant.deleted_at is None and variant.is_active and is_public_product(variant.product)


def _sql_of(
    model: type[Product] | type[ProductVariant] | type[Category], rule: Q
) -> tuple[str, list[Any]]:
    query = Query(model)
    where = query.build_where(rule)
    sql, params = where.as_sql(query.get_compiler(connection=connection), connection)
    return sql, list(params)


def public_products_sql() -> tuple[str, list[Any]]:
    """:data:`PUBLIC_PRODUCTS` as a SQL condition on the product table, and its parameters.

    For hand-written statements on that table (the checkout's ``UPDATE ... RETURNING``,
    which the ORM cannot express): columns are qualified with the table's name, so the
    fragment fits any statement that names the table without an alias.
    """
    return _sql_of(Product, PUBLIC_PRODUCTS)


def public_variants_sql() -> tuple[str, list[Any]]:
    """:data:`PUBLIC_VARIANTS` as a SQL condition on the variant table, and its parameters.

    The variant's own part only: the checkout's variant ``UPDATE`` runs after the
    ``UPDATE`` of its product row, which checks :func:`public_products_sql` and holds that
    row's lock to the commit (every catalogue write locks the product row first).
    """
    return _sql_of(ProductVariant, PUBLIC_VARIANTS)


def public_categories_sql() -> tuple[str, list[Any]]:
    """:data:`PUBLIC_CATEGORIES` as a SQL condition on the category table, and its parameters.

    For the facets' hand-written statement (columns qualified with the table's name, as in
    :func:`public_products_sql`).
    """
    return _sql_of(Category, PUBLIC_CATEGORIES)


def visible_categories(
    *, viewer: Viewer | None = None, include_deleted: bool = False
) -> QuerySet[Category]:
    """The categories ``viewer`` may see: :data:`PUBLIC_CATEGORIES`, the live ones.

    Category staff (:func:`is_category_staff`) see soft-deleted ones too with
    ``include_deleted`` (ignored for anyone else). Categories have no other visibility
    rule: a category's ``product_count`` counts :data:`PUBLIC_PRODUCTS` only, for staff
    as well.
    """
    if include_deleted and is_category_staff(viewer):
        return Category.all_objects.all()
    return Category.all_objects.filter(PUBLIC_CATEGORIES)
