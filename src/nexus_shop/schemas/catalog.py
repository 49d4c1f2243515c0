"""Request and response schemas of the catalogue API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from nexus_shop.limits import MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from nexus_shop.schemas.common import InputSchema, RefusesNul

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
# Letters (any script), digits, "-" and "_", as Django's slugify(allow_unicode=True) makes.
Slug = Annotated[str, StringConstraints(pattern=r"^[-\w]+$", min_length=1, max_length=200)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Stock = Annotated[int, Field(ge=0, le=2_147_483_647)]
Description = Annotated[str, StringConstraints(max_length=20_000)]

ProductOrdering = Literal[
    "price", "-price", "created_at", "-created_at", "name", "-name", "relevance"
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
    parent_id: int | None = None


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


class CategoryPatch(PatchSchema):
    # What Swagger UI's "Try it out" sends: valid against the demo catalogue (nox -s demo).
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"description": "Presents for every budget."}]}
    )

    not_null = frozenset({"name", "slug", "description"})

    name: Name | None = None
    slug: Slug | None = None
    description: Description | None = None
    parent_id: int | None = None


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
        "Default 20 (NEXUS_SHOP_DEFAULT_PAGE_SIZE).",
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
    category_id: int | None = None
    is_active: bool = True


class ProductPatch(PatchSchema):
    # What Swagger UI's "Try it out" sends: valid against the demo catalogue (nox -s demo).
    model_config = ConfigDict(json_schema_extra={"examples": [{"price": "29.90", "stock": 40}]})

    not_null = frozenset({"name", "slug", "sku", "description", "price", "stock", "is_active"})

    name: ProductName | None = None
    slug: Slug | None = None
    sku: Sku | None = None
    description: Description | None = None
    price: Price | None = None
    stock: Stock | None = None
    category_id: int | None = None
    is_active: bool | None = None


class ProductOut(OutputSchema):
    id: int
    name: str
    slug: str
    sku: str
    description: str
    price: Decimal = Field(..., description='A decimal string such as "19.99", never a float.')
    currency: str
    stock: int
    in_stock: bool
    is_active: bool
    category: CategoryRef | None
    created_at: datetime
    updated_at: datetime


class ProductFilter(PageParams):
    category: str | None = Field(
        None, max_length=200, description="Category slug; includes every descendant category."
    )
    min_price: Price | None = None
    max_price: Price | None = None
    in_stock: bool | None = None
    q: str | None = Field(None, max_length=200, description="Search over name and description.")
    ordering: ProductOrdering = Field(
        "-created_at",
        description="Sort key; ties are broken by id. `relevance` needs `q`.",
    )
    include_deleted: bool = Field(
        False, description="Staff only: include soft-deleted products. Ignored for others."
    )

    @model_validator(mode="after")
    def _check_combinations(self) -> ProductFilter:
        if self.q is not None:
            self.q = self.q.strip() or None
        if self.ordering == "relevance" and not self.q:
            raise ValueError("ordering=relevance needs a search query in q")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError("min_price must not be greater than max_price")
        return self


class ProductDetailParams(Schema):
    include_deleted: bool = Field(
        False, description="Staff only: show the product even if soft-deleted."
    )
