"""Catalogue models: a category tree and soft-deletable products."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from nexus_shop.models.base import SoftDeleteModel, TimeStampedModel
from nexus_shop.money import DECIMAL_PLACES, MAX_DIGITS

LIVE = Q(deleted_at__isnull=True)

IN_STOCK = Q(stock__gt=0)
"""The "in stock" rule as a filter (``~IN_STOCK`` is sold out): what ``in_stock`` lists hold.

:func:`in_stock` is the same rule for a loaded number; every other reader (the product
selector's ``in_stock`` filter, the admin's list filter, the "stock crossed zero" rule in
:mod:`nexus_shop.services.stock`) derives from these two.
"""


def in_stock(stock: int) -> bool:
    """Whether a product with this stock is in stock: the rule of :data:`IN_STOCK`."""
    return stock > 0


class Category(TimeStampedModel):
    """A node of the category tree.

    ``path`` is a materialised path of primary keys (``"/1/5/12/"``) kept by the
    category services. It lets one indexed ``LIKE 'prefix%'`` find a whole subtree,
    so filtering products by category and counting them stay single queries on
    every backend.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    description = models.TextField(blank=True, default="")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=1024, editable=False, default="")

    # Set by the category selectors: public products in this category and its descendants.
    product_count: int

    class Meta:
        verbose_name_plural = "categories"
        ordering = ("path",)
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="nexus_shop_category_slug_uniq"),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")),
                name="nexus_shop_category_not_own_parent",
            ),
        ]
        indexes = [
            # Subtree lookups: path LIKE '/1/5/%'.
            models.Index(fields=["path"], name="nexus_shop_cat_path_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel, SoftDeleteModel):
    name = models.CharField(max_length=255)
    # No index of its own: slugs are looked up among live products, which the partial unique
    # constraint below indexes. (SlugField's default index and its LIKE twin cost a million
    # products 160 MB and every insert two more index writes, for no query.)
    slug = models.SlugField(max_length=255, db_index=False)
    sku = models.CharField("SKU", max_length=64)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3)
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # Unique among live rows only, so a soft-deleted product's slug and sku can be reused.
            models.UniqueConstraint(
                fields=["slug"], condition=LIVE, name="nexus_shop_product_live_slug_uniq"
            ),
            models.UniqueConstraint(
                fields=["sku"], condition=LIVE, name="nexus_shop_product_live_sku_uniq"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="nexus_shop_product_price_gte_0"
            ),
        ]
        indexes = [
            # Each serves one list query: filter by category, sort by price or date,
            # ties broken by id; or no filter, sort by price/date/name with id.
            models.Index(
                fields=["category", "price", "id"],
                condition=LIVE,
                name="nexus_shop_prod_cat_price_idx",
            ),
            models.Index(
                fields=["category", "created_at", "id"],
                condition=LIVE,
                name="nexus_shop_prod_cat_date_idx",
            ),
            models.Index(fields=["price", "id"], condition=LIVE, name="nexus_shop_prod_price_idx"),
            models.Index(
                fields=["created_at", "id"], condition=LIVE, name="nexus_shop_prod_date_idx"
            ),
            models.Index(fields=["name", "id"], condition=LIVE, name="nexus_shop_prod_name_idx"),
            # Counting what the public sees (page-mode counts, product_count): PostgreSQL
            # answers COUNT(*) from this small index alone (index-only scan), not the table.
            models.Index(
                fields=["category"],
                condition=LIVE & Q(is_active=True),
                name="nexus_shop_prod_public_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return in_stock(self.stock)
