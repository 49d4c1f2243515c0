"""Catalogue models: a category tree, soft-deletable products, their variants and images.

A product is what a shopper browses; a **variant** is what they buy: one sku, one price,
one stock count, one value for each of the product's options ("Size: M, Colour: Red"). A
product without options has exactly one variant, its *default variant*, whose sku is the
product's own. Price and stock live on the variants; the product keeps a summary of its
active variants (``price``, ``price_max``, ``stock``, ``active_variant_count``) that the
catalogue services refresh in the same transaction as every variant write
(:func:`nexus_shop.services.variants.refresh_summary`), so lists filter, sort and count on
indexed product columns without reading the variants.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from nexus_shop import media
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


class Category(TimeStampedModel, SoftDeleteModel):
    """A node of the category tree, soft-deletable as products are.

    ``path`` is a materialised path of primary keys (``"/1/5/12/"``) kept by the
    category services. It lets one indexed ``LIKE 'prefix%'`` find a whole subtree,
    so filtering products by category and counting them stay single queries on
    every backend.

    A soft-deleted category keeps its row, its ``parent`` and its ``path`` (a move of an
    ancestor rewrites it too), so it can be restored where it was. The category services
    keep two rules: no live category has a deleted parent, and no product (deleted or
    not) is in a deleted category.
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
            # Unique among live rows only, so a deleted category's slug can be reused.
            models.UniqueConstraint(
                fields=["slug"], condition=LIVE, name="nexus_shop_category_live_slug_uniq"
            ),
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


MAX_OPTIONS = 3
MAX_OPTION_VALUES = 100
MAX_VARIANTS = 250
MAX_IMAGES = 50
# The most a stock count (a variant's, or a product's total) can hold: the integer columns'.
MAX_STOCK = 2_147_483_647
# Option names and values: short display texts ("Size", "XL"), compared casefolded.
OPTION_TEXT_MAX_LENGTH = 100


class Product(TimeStampedModel, SoftDeleteModel):
    name = models.CharField(max_length=255)
    # No index of its own: slugs are looked up among live products, which the partial unique
    # constraint below indexes. (SlugField's default index and its LIKE twin cost a million
    # products 160 MB and every insert two more index writes, for no query.)
    slug = models.SlugField(max_length=255, db_index=False)
    sku = models.CharField("SKU", max_length=64)
    description = models.TextField(blank=True, default="")
    # Derived from the active variants (the lowest price; the highest in ``price_max``), or
    # from all live variants while none is active. Written by the variant services only.
    price = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0"))],
    )
    price_max = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3)
    # The sum of the active variants' stock.
    stock = models.PositiveIntegerField(default=0)
    # Live, active variants: a product is public only while it has one (PUBLIC_PRODUCTS).
    active_variant_count = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    # [{"name": "Size", "values": ["S", "M", "L"]}, ...]: 0 to MAX_OPTIONS options, in order.
    options = models.JSONField(default=list, blank=True)
    # Storage name of the first image's smallest thumbnail ("" without images), kept by the
    # image services so a list page shows it without reading the images.
    thumbnail_file = models.CharField(max_length=255, blank=True, default="")
    # The option values of the live variants, space-separated, for the search.
    option_words = models.TextField(blank=True, default="", editable=False)

    # Set by selectors.products.attach_detail: what the detail shows (ProductDetailOut).
    shown_variants: list[ProductVariant]
    shown_images: list[ProductImage]

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
            models.CheckConstraint(
                condition=Q(price_max__gte=models.F("price")),
                name="nexus_shop_product_price_max_gte_price",
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
            # Price filters (min_price): the highest active variant price. A range on it
            # finds the products in a price range first, single-variant ones in price order.
            models.Index(
                fields=["price_max", "id"], condition=LIVE, name="nexus_shop_prod_price_max_idx"
            ),
            models.Index(
                fields=["created_at", "id"], condition=LIVE, name="nexus_shop_prod_date_idx"
            ),
            models.Index(fields=["name", "id"], condition=LIVE, name="nexus_shop_prod_name_idx"),
            # Counting what the public sees (page-mode counts, product_count): PostgreSQL
            # answers COUNT(*) from this small index alone (index-only scan), not the table;
            # with the id, also a category's products joined to option rows (issue 17).
            models.Index(
                fields=["category", "id"],
                condition=LIVE & Q(is_active=True, active_variant_count__gt=0),
                name="nexus_shop_prod_public_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return in_stock(self.stock)

    @property
    def price_range(self) -> dict[str, Decimal]:
        return {"min": self.price, "max": self.price_max}

    @property
    def thumbnail(self) -> str | None:
        """The URL of the first image's smallest thumbnail, or None without images."""
        return media.url(self.thumbnail_file) if self.thumbnail_file else None


def option_key(value: str) -> str:
    """The canonical form an option name or value is compared and filtered in."""
    return value.casefold()


class ProductVariant(TimeStampedModel, SoftDeleteModel):
    """What a shopper buys: a sku with its own price and stock, one value per option.

    ``options`` maps each of the product's option names to this variant's value, in the
    product's option order (``{"Size": "M", "Colour": "Red"}``); ``combination`` is the
    canonical form of the values (casefolded, ``\x1f``-joined, in option order), unique
    among the product's live variants. :class:`VariantOption` holds the same values, one
    row each, for filters and facets.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=64)
    options = models.JSONField(default=dict, blank=True)
    combination = models.CharField(max_length=1024, default="", blank=True, editable=False)
    price = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0"))],
    )
    compare_at_price = models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, null=True, blank=True
    )
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["sku"], condition=LIVE, name="nexus_shop_variant_live_sku_uniq"
            ),
            models.UniqueConstraint(
                fields=["product", "combination"],
                condition=LIVE,
                name="nexus_shop_variant_live_combination_uniq",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="nexus_shop_variant_price_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(compare_at_price__isnull=True)
                | Q(compare_at_price__gt=models.F("price")),
                name="nexus_shop_variant_compare_at_gt_price",
            ),
        ]
        indexes = [
            # A product's variants (detail pages, summaries, the option filter's EXISTS).
            models.Index(fields=["product", "position"], name="nexus_shop_variant_prod_idx"),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def in_stock(self) -> bool:
        return in_stock(self.stock)


class VariantOption(models.Model):
    """One option value of one live, active variant: what ``option=`` filters and facets read.

    ``name``/``value`` are the display forms, ``name_key``/``value_key`` the canonical
    ones (:func:`option_key`). ``product``, ``price`` and ``in_stock`` repeat the variant's,
    so filters and facets on options, prices and stock together read these rows and no
    variant. :func:`nexus_shop.services.summary.sync_option_rows` keeps them (rows exist
    for live, active variants only); the checkout's stock crossing zero updates
    ``in_stock`` (:func:`nexus_shop.services.stock.stock_changed`).
    """

    # Each foreign key's own index is left out: the composite indexes below start with it.
    variant = models.ForeignKey(
        ProductVariant, on_delete=models.CASCADE, related_name="option_rows", db_index=False
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=OPTION_TEXT_MAX_LENGTH)
    value = models.CharField(max_length=OPTION_TEXT_MAX_LENGTH)
    name_key = models.CharField(max_length=OPTION_TEXT_MAX_LENGTH)
    value_key = models.CharField(max_length=OPTION_TEXT_MAX_LENGTH)
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    in_stock = models.BooleanField()

    class Meta:
        # On PostgreSQL both carry more columns (INCLUDE, migration 0014), so counts read
        # the indexes alone: the constraint's index the value (the probe "has this variant
        # one of these values of that option", for several option filters on one variant),
        # the (name, value, product) index the variant, price and stock. Declared here
        # without them: SQLite would drop a unique constraint with INCLUDE columns.
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "name_key"], name="nexus_shop_variantoption_uniq"
            ),
        ]
        indexes = [
            # option=size:m -> its products in id order (merged with the public products').
            models.Index(
                fields=["name_key", "value_key", "product"], name="nexus_shop_varopt_value_idx"
            ),
            # Facets: the matched products' option values.
            models.Index(fields=["product", "name_key"], name="nexus_shop_varopt_prod_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class ProductImage(TimeStampedModel):
    """A picture of a product, stored through Django's storage API.

    ``file`` names the original (re-encoded, metadata stripped) and ``thumbnail_files`` maps
    each configured size name to its WebP file. Names derive from the content's hash, so
    two images may share files; a file is removed once no row names it.
    ``variant_ids`` lists the product's variants the picture shows (empty: all of them).
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    file = models.CharField(max_length=255)
    content_hash = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    thumbnail_files = models.JSONField(default=dict, blank=True)
    alt = models.CharField(max_length=500, blank=True, default="")
    position = models.PositiveIntegerField(default=0)
    variant_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("position", "id")
        # Positions are kept unique per product by the image services, which lock the
        # product row first (a unique constraint would refuse the reordering steps).
        indexes = [
            models.Index(fields=["product", "position"], name="nexus_shop_image_prod_idx"),
            models.Index(fields=["content_hash"], name="nexus_shop_image_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.alt or self.file

    @property
    def url(self) -> str:
        return media.url(self.file)

    @property
    def thumbnails(self) -> dict[str, str]:
        """Each thumbnail size's URL, by size name."""
        return {size: media.url(name) for size, name in self.thumbnail_files.items()}
