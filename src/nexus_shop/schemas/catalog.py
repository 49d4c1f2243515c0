"""Request and response schemas of the catalogue API."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final, Literal

from ninja import Field
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from nexus_shop.conf import described
from nexus_shop.limits import MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from nexus_shop.models.catalog import (
    MAX_OPTION_VALUES,
    MAX_OPTIONS,
    MAX_STOCK,
    MAX_VARIANTS,
    OPTION_TEXT_MAX_LENGTH,
    option_key,
)
from nexus_shop.money import DECIMAL_PLACES, MAX_AMOUNT, MAX_DIGITS
from nexus_shop.schemas.common import InputSchema
from nexus_shop.schemas.params import QUERY_DEFAULTS, QueryParams, default_of

# C0 and C1 control characters, bidirectional embeddings/overrides/isolates (which can make
# "evil<U+202E>txt.exe" read as "evilexe.txt") and lone surrogates (which no database stores).
_BIDI_AND_SURROGATES = r"\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_LINE_CONTROL = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SURROGATES}]")
# Descriptions may hold tabs and line breaks (\t, \n and the \r of a \r\n).
_TEXT_CONTROL = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_AND_SURROGATES}]")


def _refuse(pattern: re.Pattern[str]) -> Any:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character",
                "Text must not contain control characters or bidirectional overrides "
                "(found U+{code} at position {position})",
                {"code": f"{ord(found.group()):04X}", "position": found.start()},
            )
        return value

    return AfterValidator(check)


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    _refuse(_LINE_CONTROL),
]
ProductName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    _refuse(_LINE_CONTROL),
]
# Letters (any script), digits, "-" and "_", as Django's slugify(allow_unicode=True) makes.
# (No control or format character matches \w.)
Slug = Annotated[str, StringConstraints(pattern=r"^[-\w]+$", min_length=1, max_length=200)]
Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    _refuse(_LINE_CONTROL),
]
# The string form OpenAPI documents (and the form answers use): "19.99", "5", "0.5".
# (Other forms Python's Decimal reads, such as "1E+2", are accepted and normalised too.)
PRICE_PATTERN = rf"^[0-9]{{1,{MAX_DIGITS - DECIMAL_PLACES}}}(\.[0-9]{{1,{DECIMAL_PLACES}}})?$"
Price = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT)},
                {"type": "string", "pattern": PRICE_PATTERN},
            ],
            "description": 'A decimal, preferably as a string such as "19.99".',
        },
        mode="validation",
    ),
]
# Request bodies take integers and booleans as JSON has them: true is not 1, "no" not false.
Stock = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]
Id = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]
Description = Annotated[str, StringConstraints(max_length=20_000), _refuse(_TEXT_CONTROL)]

ProductOrdering = Literal[
    "price", "-price", "created_at", "-created_at", "name", "-name", "relevance"
]


def _json_datetime(value: datetime) -> str:
    """A datetime as ninja's renderer (Django's ``DjangoJSONEncoder``) writes it.

    ISO 8601 with milliseconds and ``Z`` for UTC. The read endpoints serialise with
    pydantic's ``dump_json`` (see ``nexus_shop.routers.catalog``), whose own format keeps
    microseconds: this keeps every endpoint's timestamps alike, whichever path rendered
    them.
    """
    text = value.isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    if text.endswith("+00:00"):
        text = text.removesuffix("+00:00") + "Z"
    return text


# In JSON mode only: ``model_dump()`` (ninja's path) still hands the datetime to the renderer.
# The OpenAPI document keeps describing it as a date-time string.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_json_datetime, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class OutputSchema(BaseModel):
    """Base of the response schemas: plain pydantic, reading model attributes.

    ninja's ``Schema`` resolves every attribute through its ``DjangoGetter``: about a
    quarter of the CPU of a 20-product list and half of a product detail (measured in
    benchmarks/README.md). These schemas read only plain attributes and properties (no
    dotted aliases, no ``resolve_*``), which pydantic's own ``from_attributes`` does.
    """

    model_config = ConfigDict(from_attributes=True)


# Categories -----------------------------------------------------------------------------------


class CategoryIn(InputSchema):
    # What Swagger UI's "Try it out" sends: valid against the demo catalogue (nox -s demo).
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Gift cards", "description": "Cards for any occasion.", "parent_id": None}
            ]
        }
    )

    name: Name
    slug: Slug | None = None
    description: Description = ""
    parent_id: Id | None = None


class PatchSchema(InputSchema):
    """A PATCH body: any subset of fields. ``null`` is refused (422) for the fields in
    ``not_null``; elsewhere it means "clear" (``category_id``, ``parent_id``)."""

    not_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k in cls.not_null if k in data and data[k] is None)
            if nulls:
                raise ValueError(f"{', '.join(nulls)} cannot be null")
        return data


def _omit_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _not_null(description: str | None = None) -> Any:
    """A PATCH field that may be left out but not sent as ``null``.

    Typed without ``None`` (so OpenAPI does not advertise a ``null`` that is a 422) and
    defaulting to ``None`` only so that leaving it out is allowed (PATCH bodies are read
    with ``exclude_unset``); the default is kept out of OpenAPI too.
    """
    return Field(None, description=description, json_schema_extra=_omit_default)


class CategoryPatch(PatchSchema):
    # What Swagger UI's "Try it out" sends: valid against the demo catalogue (nox -s demo).
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"description": "Presents for every budget."}]}
    )

    not_null = frozenset({"name", "slug", "description"})

    name: Name = _not_null()
    slug: Slug = _not_null()
    description: Description = _not_null()
    parent_id: Id | None = None


class CategoryOut(OutputSchema):
    id: int
    name: str
    slug: str
    description: str
    parent_id: int | None
    product_count: int


class CategoryRef(OutputSchema):
    id: int
    name: str
    slug: str


class PageParams(QueryParams):
    page: int = Field(default_of("page"), ge=1, description="Page number, from 1 (page mode).")
    # None when left out; validation fills in the effective default (QueryParams).
    page_size: int | None = Field(
        None,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Items per page, 1 to {MAX_PAGE_SIZE}. "
        + QUERY_DEFAULTS["page_size"].describe(),
    )
    cursor: str | None = Field(
        None,
        max_length=MAX_CURSOR_LENGTH,
        description="The `next_cursor` of a previous answer: switches to cursor (keyset) mode.",
    )


class CategoryListParams(PageParams):
    include_deleted: bool = Field(
        default_of("include_deleted"),
        description="Category staff only: include soft-deleted categories. Ignored for others.",
    )


class CategoryDetailParams(QueryParams):
    include_deleted: bool = Field(
        default_of("include_deleted"),
        description="Category staff only: show the category even if soft-deleted.",
    )


# Products -------------------------------------------------------------------------------------


OptionText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=OPTION_TEXT_MAX_LENGTH),
    _refuse(_LINE_CONTROL),
]


def _unique_casefolded(values: list[str], *, what: str) -> list[str]:
    seen: set[str] = set()
    for value in values:
        key = option_key(value)
        if key in seen:
            raise ValueError(f"{what} must be unique, ignoring case: {value!r} is repeated")
        seen.add(key)
    return values


class OptionIn(InputSchema):
    name: OptionText
    values: list[OptionText] = Field(..., min_length=1, max_length=MAX_OPTION_VALUES)

    @model_validator(mode="after")
    def _check_values(self) -> OptionIn:
        _unique_casefolded(self.values, what=f"The values of option {self.name!r}")
        return self


Options = Annotated[
    list[OptionIn],
    Field(max_length=MAX_OPTIONS, description=f"0 to {MAX_OPTIONS} options, in order."),
    AfterValidator(
        lambda options: (
            _unique_casefolded([o.name for o in options], what="Option names") and options
        )
    ),
]
VariantOptions = Annotated[
    dict[OptionText, OptionText],
    Field(
        max_length=MAX_OPTIONS,
        description="The variant's value of each of the product's options, by option name "
        "(matched ignoring case).",
    ),
]
Position = Annotated[StrictInt, Field(ge=0, le=2_147_483_647)]


class VariantIn(InputSchema):
    """A new variant (``POST .../variants``), or one of a product body's ``variants``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "TEE-RED-M",
                    "options": {"Size": "M", "Colour": "Red"},
                    "price": "19.90",
                    "stock": 12,
                }
            ]
        }
    )

    sku: Sku
    options: VariantOptions = Field(default_factory=dict)
    price: Price
    compare_at_price: Price | None = None
    stock: Stock
    is_active: StrictBool = True
    position: Position | None = None

    @model_validator(mode="after")
    def _check_compare_at(self) -> VariantIn:
        if self.compare_at_price is not None and self.compare_at_price <= self.price:
            raise ValueError("compare_at_price must be greater than price")
        return self


class VariantReplace(VariantIn):
    """A variant in a PUT body: with the ``id`` of an existing one it is updated."""

    id: Id | None = Field(None, description="An existing variant's id; leave out for a new one.")


# What Swagger UI's "Try it out" sends to create or replace a product: valid against the
# demo catalogue (nox -s demo).
PRODUCT_EXAMPLE: Final[dict[str, Any]] = {
    "name": "Enamel teapot",
    "sku": "TEA-0001",
    "description": "A 1.2 litre enamel teapot with a steel infuser.",
    "price": "34.90",
    "stock": 25,
    "category_id": 1,
    "is_active": True,
}


class ProductIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_EXAMPLE]})

    name: ProductName
    slug: Slug | None = None
    sku: Sku = Field(..., description="The product's own code; its default variant's sku.")
    description: Description = ""
    price: Price | None = Field(
        None,
        description="Without `variants`: the price of the one default variant (required "
        "then). With `variants`, leave it out.",
    )
    stock: Stock | None = Field(
        None,
        description="Without `variants`: the stock of the one default variant (required "
        "then). With `variants`, leave it out.",
    )
    category_id: Id | None = None
    is_active: StrictBool = True
    options: Options | None = Field(
        None, description=f"0 to {MAX_OPTIONS} options (name and values), in order."
    )
    variants: list[VariantReplace] | None = Field(
        None,
        min_length=1,
        max_length=MAX_VARIANTS,
        description=f"1 to {MAX_VARIANTS} variants, one per combination of option values. "
        "On PUT: listed ids are updated, new ones created, live ones left out soft-deleted; "
        "no `variants` key leaves them as they are.",
    )

    @model_validator(mode="after")
    def _check_variant_fields(self) -> ProductIn:
        """``price`` and ``stock`` are required without ``variants``, refused with them."""
        if self.variants is None:
            missing = [name for name in ("price", "stock") if getattr(self, name) is None]
            if missing:
                raise ValidationError.from_exception_data(
                    type(self).__name__,
                    [InitErrorDetails(type="missing", loc=(name,), input=None) for name in missing],
                )
        elif self.price is not None or self.stock is not None:
            raise ValueError(
                "with variants, price and stock belong to each variant: leave them out of "
                "the product"
            )
        if self.options and self.variants is None:
            raise ValueError("a product with options needs its variants")
        return self


class ProductReplace(ProductIn):
    """A PUT body: as :class:`ProductIn`, but ``price`` and ``stock`` may be left out.

    Left out they stay as they are: a product with several variants has no price or stock
    of its own to send, and a PUT without ``variants`` (an old client's) must still rename
    it. Sent, they write the default variant of a single-variant product (a 422 on one
    with several, naming the variant endpoint).
    """

    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_EXAMPLE]})

    @model_validator(mode="after")
    def _check_variant_fields(self) -> ProductReplace:
        """``price`` and ``stock`` are refused with ``variants`` (they belong to each)."""
        if self.variants is not None and (self.price is not None or self.stock is not None):
            raise ValueError(
                "with variants, price and stock belong to each variant: leave them out of "
                "the product"
            )
        return self


class VariantPatch(PatchSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stock_delta": 10}]})

    not_null = frozenset(
        {"sku", "options", "price", "stock", "stock_delta", "is_active", "position"}
    )

    sku: Sku = _not_null()
    options: VariantOptions = _not_null()
    price: Price = _not_null()
    compare_at_price: Price | None = None
    stock: Stock = _not_null()
    stock_delta: Annotated[StrictInt, Field(ge=-MAX_STOCK, le=MAX_STOCK)] = _not_null(
        "Add this to the stock atomically (negative: take away), whatever it is now; needs "
        "no `If-Match`. Below 0 is a 409 and nothing changes."
    )
    is_active: StrictBool = _not_null()
    position: Position = _not_null()

    @model_validator(mode="after")
    def _check_stock(self) -> VariantPatch:
        if "stock" in self.model_fields_set and "stock_delta" in self.model_fields_set:
            raise ValueError("send stock or stock_delta, not both")
        return self


class ProductPatch(PatchSchema):
    # What Swagger UI's "Try it out" sends: valid against the demo catalogue (nox -s demo).
    model_config = ConfigDict(json_schema_extra={"examples": [{"price": "29.90", "stock": 40}]})

    not_null = frozenset({"name", "slug", "sku", "description", "price", "stock", "is_active"})

    name: ProductName = _not_null()
    slug: Slug = _not_null()
    sku: Sku = _not_null()
    description: Description = _not_null()
    price: Price = _not_null(
        "Writes the default variant of a product with one variant; a 422 on one with "
        "several (use the variant endpoint)."
    )
    stock: Stock = _not_null("As `price`: the default variant's stock.")
    category_id: Id | None = None
    is_active: StrictBool = _not_null()


MONEY_OUT: dict[str, Any] = {"pattern": r"^[0-9]+\.[0-9]{2}$"}


def _money(description: str) -> Any:
    return Field(
        ...,
        description=f'{description} A decimal string with two places such as "19.99", never '
        "a float.",
        json_schema_extra=MONEY_OUT,
    )


class PriceRangeOut(OutputSchema):
    min: Decimal = _money("The lowest price of the active variants.")
    max: Decimal = _money("The highest price of the active variants.")


class OptionOut(OutputSchema):
    name: str
    values: list[str] = Field(..., description="The option's values, in order.")


class VariantOut(OutputSchema):
    id: int
    sku: str
    options: dict[str, str] = Field(
        ..., description="The variant's value of each of the product's options, by name."
    )
    price: Decimal = _money("The variant's price.")
    compare_at_price: Decimal | None = Field(
        ...,
        description='The price before a reduction (the "was" price), greater than `price`; '
        "or null.",
        json_schema_extra=MONEY_OUT,
    )
    stock: int
    in_stock: bool
    is_active: bool
    position: int


class ImageOut(OutputSchema):
    id: int
    alt: str
    position: int
    variant_ids: list[int] = Field(
        ..., description="The variants this picture shows; empty when it shows the product."
    )
    width: int = Field(..., description="The original's width in pixels.")
    height: int = Field(..., description="The original's height in pixels.")
    url: str = Field(..., description="The original, re-encoded without metadata.")
    thumbnails: dict[str, str] = Field(
        ..., description="A WebP URL per size of NEXUS_SHOP_IMAGE_SIZES, by size name."
    )


class ProductOut(OutputSchema):
    """A product as lists show it: its variants summarised, no variant array."""

    id: int
    name: str
    slug: str
    sku: str = Field(..., description="The product's own code (its default variant's sku).")
    description: str
    price: Decimal = _money("The lowest price of the product's active variants.")
    price_range: PriceRangeOut
    currency: str
    stock: int = Field(..., description="The sum of the active variants' stock.")
    in_stock: bool = Field(..., description="Whether any active variant has stock.")
    is_active: bool
    category: CategoryRef | None
    options: list[OptionOut]
    thumbnail: str | None = Field(
        ..., description="The first image's smallest thumbnail URL, or null without images."
    )
    created_at: Timestamp
    updated_at: Timestamp


class ProductDetailOut(ProductOut):
    """A product with its variants and images."""

    variants: list[VariantOut] = Field(
        ...,
        validation_alias="shown_variants",
        description="Live variants by position; the public sees the active ones.",
    )
    images: list[ImageOut] = Field(..., validation_alias="shown_images")


MAX_OPTION_FILTERS = 10
"""How many ``option`` parameters one request may send."""
OPTION_FILTER_SEPARATOR = ":"


def _option_filter(raw: str) -> str:
    """One ``option=<name>:<value>`` in its canonical form: ``<name key>:<value key>``.

    Split on the first colon (a value may hold colons, a name cannot), each side stripped
    and casefolded (:func:`~nexus_shop.models.catalog.option_key`, as the variants' option
    rows are), so ``Size:M`` and ``size: m`` are one filter, and one response cache key.
    """
    name, colon, value = raw.partition(OPTION_FILTER_SEPARATOR)
    name, value = name.strip(), value.strip()
    if not colon or not name or not value:
        raise PydanticCustomError(
            "option_format",
            "Expected <name>:<value> such as size:M, got '{given}'",
            {"given": raw[:OPTION_TEXT_MAX_LENGTH]},
        )
    for part in (name, value):
        if len(part) > OPTION_TEXT_MAX_LENGTH or _LINE_CONTROL.search(part):
            raise PydanticCustomError(
                "option_format",
                "Option names and values are 1 to {limit} characters, without control characters",
                {"limit": OPTION_TEXT_MAX_LENGTH},
            )
    return f"{option_key(name)}{OPTION_FILTER_SEPARATOR}{option_key(value)}"


def _canonical_option_filters(filters: list[str]) -> list[str]:
    """Each filter canonical (:func:`_option_filter`), sorted and without repeats: the
    order and repetition of the parameters mean nothing, so they are not in the key."""
    return sorted({_option_filter(raw) for raw in filters})


class ProductFilterBase(QueryParams):
    """The filters and the search, shared by the product list and its facets."""

    option: Annotated[list[str], AfterValidator(_canonical_option_filters)] = Field(
        default_factory=list,
        max_length=MAX_OPTION_FILTERS,
        description=f"`<name>:<value>`, repeatable (up to {MAX_OPTION_FILTERS}): products "
        "with one active variant of that option value, ANDed across names and ORed within "
        "a name (`option=size:M&option=size:L&option=colour:red`: M or L, and red). Split "
        "on the first colon; names and values are matched ignoring case. `min_price`, "
        "`max_price` and `in_stock` then apply to that same variant. An unknown name "
        "matches nothing.",
    )

    category: str | None = Field(
        None, max_length=200, description="Category slug; includes every descendant category."
    )
    min_price: Price | None = None
    max_price: Price | None = None
    in_stock: bool | None = None
    q: str | None = Field(None, max_length=200, description="Search over name and description.")
    include_deleted: bool = Field(
        default_of("include_deleted"),
        description="Staff only: include soft-deleted products. Ignored for others.",
    )

    @model_validator(mode="after")
    def _check_filters(self) -> ProductFilterBase:
        if self.q is not None:
            self.q = self.q.strip() or None
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price must not be greater than max_price")
        return self

    @property
    def option_filters(self) -> dict[str, frozenset[str]]:
        """The ``option`` filters by option name key: the value keys any of which matches."""
        found: dict[str, set[str]] = {}
        for item in self.option:
            name, _, value = item.partition(OPTION_FILTER_SEPARATOR)
            found.setdefault(name, set()).add(value)
        return {name: frozenset(values) for name, values in sorted(found.items())}


class ProductFilter(PageParams, ProductFilterBase):
    ordering: ProductOrdering = Field(
        default_of("ordering"),
        description="Sort key; ties are broken by id. `relevance` needs `q`.",
    )

    @model_validator(mode="after")
    def _check_ordering(self) -> ProductFilter:
        if self.ordering == "relevance" and not self.q:
            raise ValueError("ordering=relevance needs a search query in q")
        return self


class ProductFacetsParams(ProductFilterBase):
    """The product list's filters and ``q``, without pagination or ordering."""


class CategoryFacetOut(OutputSchema):
    id: int
    name: str
    slug: str
    count: int = Field(..., description="Matching products in this category and below it.")


class CategorySubtreeOut(CategoryFacetOut):
    children: list[CategoryFacetOut] = Field(
        ..., description="The category's direct children with at least one match."
    )


class PriceBucketOut(OutputSchema):
    min: Decimal = Field(..., description="Inclusive lower bound.")
    max: Decimal | None = Field(..., description="Exclusive upper bound; null for the last.")
    count: int


class OptionValueFacetOut(OutputSchema):
    value: str
    count: int = Field(
        ...,
        description="Matching products with a matching variant of this value, counted as if "
        "this option's own `option` selection were not made.",
    )


class OptionFacetOut(OutputSchema):
    name: str
    values: list[OptionValueFacetOut] = Field(
        ..., description="At most 50 values, the most products first."
    )


class ProductFacetsOut(OutputSchema):
    count: int = Field(
        ...,
        description=f"Matching products, exact up to {described('EXACT_COUNT_LIMIT')}; "
        "past it, that limit.",
    )
    count_exact: bool = Field(
        ...,
        description="False when more products match than the limit: every count below is "
        "then taken over the first `count` matches found, not over all of them.",
    )
    categories: list[CategoryFacetOut] = Field(
        ..., description="Top-level categories with at least one match, in tree order."
    )
    subtree: CategorySubtreeOut | None = Field(
        ...,
        description="With `category`: that category and its children with matches; otherwise null.",
    )
    uncategorized: int = Field(..., description="Matching products in no category.")
    price_buckets: list[PriceBucketOut] = Field(
        ...,
        description="Every bucket of NEXUS_SHOP_FACET_PRICE_BUCKETS, zeros included. A "
        "product counts once, in the bucket of the lowest price among its variants that "
        "match the filters, so the buckets add up to `count`.",
    )
    options: list[OptionFacetOut] = Field(
        ...,
        description="The option names of the matching products, each with its values and "
        "their counts. Disjunctive: a name's own `option` selection is ignored when its "
        "values are counted, so choosing M still shows how many products L would give.",
    )


class ProductDetailParams(QueryParams):
    include_deleted: bool = Field(
        default_of("include_deleted"),
        description="Staff only: show the product even if soft-deleted.",
    )
