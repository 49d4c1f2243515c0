"""Request and response schemas of the catalogue API."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from nexus_shop.conf import described
from nexus_shop.limits import MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from nexus_shop.money import DECIMAL_PLACES, MAX_AMOUNT, MAX_DIGITS
from nexus_shop.schemas.common import InputSchema, RefusesNul

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
Stock = Annotated[StrictInt, Field(ge=0, le=2_147_483_647)]
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


def _not_null() -> Any:
    """A PATCH field that may be left out but not sent as ``null``.

    Typed without ``None`` (so OpenAPI does not advertise a ``null`` that is a 422) and
    defaulting to ``None`` only so that leaving it out is allowed (PATCH bodies are read
    with ``exclude_unset``); the default is kept out of OpenAPI too.
    """
    return Field(None, json_schema_extra=_omit_default)


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


class PageParams(RefusesNul):
    page: int = Field(1, ge=1, description="Page number, from 1 (page mode).")
    page_size: int | None = Field(
        None,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Items per page, 1 to {MAX_PAGE_SIZE}. "
        f"When left out, {described('DEFAULT_PAGE_SIZE')}.",
    )
    cursor: str | None = Field(
        None,
        max_length=MAX_CURSOR_LENGTH,
        description="The `next_cursor` of a previous answer: switches to cursor (keyset) mode.",
    )


# Products -------------------------------------------------------------------------------------


class ProductIn(InputSchema):
    # What Swagger UI's "Try it out" sends: valid against the demo catalogue (nox -s demo).
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Enamel teapot",
                    "sku": "TEA-0001",
                    "description": "A 1.2 litre enamel teapot with a steel infuser.",
                    "price": "34.90",
                    "stock": 25,
                    "category_id": 1,
                    "is_active": True,
                }
            ]
        }
    )

    name: ProductName
    slug: Slug | None = None
    sku: Sku
    description: Description = ""
    price: Price
    stock: Stock
    category_id: Id | None = None
    is_active: StrictBool = True


class ProductPatch(PatchSchema):
    # What Swagger UI's "Try it out" sends: valid against the demo catalogue (nox -s demo).
    model_config = ConfigDict(json_schema_extra={"examples": [{"price": "29.90", "stock": 40}]})

    not_null = frozenset({"name", "slug", "sku", "description", "price", "stock", "is_active"})

    name: ProductName = _not_null()
    slug: Slug = _not_null()
    sku: Sku = _not_null()
    description: Description = _not_null()
    price: Price = _not_null()
    stock: Stock = _not_null()
    category_id: Id | None = None
    is_active: StrictBool = _not_null()


class ProductOut(OutputSchema):
    id: int
    name: str
    slug: str
    sku: str
    description: str
    price: Decimal = Field(
        ...,
        description='A decimal string with two places such as "19.99", never a float.',
        json_schema_extra={"pattern": r"^[0-9]+\.[0-9]{2}$"},
    )
    currency: str
    stock: int
    in_stock: bool
    is_active: bool
    category: CategoryRef | None
    created_at: Timestamp
    updated_at: Timestamp


class ProductFilterBase(RefusesNul):
    """The filters and the search, shared by the product list and its facets."""

    category: str | None = Field(
        None, max_length=200, description="Category slug; includes every descendant category."
    )
    min_price: Price | None = None
    max_price: Price | None = None
    in_stock: bool | None = None
    q: str | None = Field(None, max_length=200, description="Search over name and description.")
    include_deleted: bool = Field(
        False, description="Staff only: include soft-deleted products. Ignored for others."
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


class ProductFilter(PageParams, ProductFilterBase):
    ordering: ProductOrdering = Field(
        "-created_at",
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
        ..., description="Every bucket of NEXUS_SHOP_FACET_PRICE_BUCKETS, zeros included."
    )


class ProductDetailParams(Schema):
    include_deleted: bool = Field(
        False, description="Staff only: show the product even if soft-deleted."
    )
