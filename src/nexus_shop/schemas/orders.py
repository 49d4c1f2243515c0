"""Request and response schemas of carts, checkout and orders. Money is a decimal string."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from nexus_shop.models.orders import MAX_LINE_QUANTITY
from nexus_shop.schemas.catalog import Id, OutputSchema, PageParams
from nexus_shop.schemas.common import InputSchema

Quantity = Annotated[
    int, Field(ge=1, le=MAX_LINE_QUANTITY, description=f"1 to {MAX_LINE_QUANTITY}.")
]
Money = Annotated[Decimal, Field(description='A decimal string such as "19.99", never a float.')]
StatusName = Literal["pending_payment", "paid", "fulfilled", "cancelled"]


def _without_nulls(
    data: Any, handler: SerializerFunctionWrapHandler, keys: tuple[str, ...]
) -> dict[str, Any]:
    """Serialize, leaving out ``keys`` whose value is None (the contract: "only when ...")."""
    dumped: dict[str, Any] = handler(data)
    for key in keys:
        if dumped.get(key) is None:
            dumped.pop(key, None)
    return dumped


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)
]


Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


# Cart -----------------------------------------------------------------------------------------


class CartLineIn(InputSchema):
    """What to add: a variant, or a product that has exactly one variant. Exactly one of the two."""

    variant_id: Id | None = Field(None, description="The variant to buy.")
    product_id: Id | None = Field(
        None,
        description="A product with one variant (its default variant). For a product with "
        "several variants this is a 422 whose `variant_ids` lists them: send `variant_id`.",
    )
    quantity: Quantity = 1

    @model_validator(mode="after")
    def _one_of_variant_or_product(self) -> Self:
        if (self.variant_id is None) == (self.product_id is None):
            raise ValueError("Send exactly one of variant_id and product_id.")
        return self


class CartLinePatch(InputSchema):
    quantity: Quantity


OptionValues = Annotated[
    dict[str, str],
    Field(
        description='The variant\'s option values, name to value: `{"Size": "M"}`; `{}` '
        "for a product without options."
    ),
]


class CartLineOut(OutputSchema):
    id: int
    product_id: int
    variant_id: int
    name: str = Field(..., description="The product's name.")
    sku: str = Field(..., description="The variant's sku.")
    options: OptionValues
    unit_price: Money
    quantity: int
    line_total: Money
    available: int = Field(..., description="Units in stock now; 0 if no longer for sale.")
    insufficient_stock: bool = Field(..., description="quantity > available.")


class CartOut(OutputSchema):
    id: int
    token: str | None = Field(
        None,
        description="Only in the answer that created an anonymous cart: send it back as "
        "`X-Cart-Token`. It is shown once and stored only hashed.",
    )
    lines: list[CartLineOut]
    subtotal: Money
    currency: str

    # No return annotation on purpose: pydantic would take it as the OpenAPI schema of the
    # answer ("any object"); without one, the schema stays the fields'.
    @model_serializer(mode="wrap")
    def _leave_out_token(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]  # see above
        return _without_nulls(self, handler, ("token",))


# Checkout and orders --------------------------------------------------------------------------


class ShippingAddress(InputSchema):
    name: Line
    line1: Line
    line2: OptionalLine = ""
    city: City
    postal_code: PostalCode
    country: Country = Field(..., description="ISO 3166-1 alpha-2 code, e.g. `DE`.")


class CheckoutIn(InputSchema):
    email: Email | None = None
    shipping_address: ShippingAddress | None = None


class OrderLineOut(Schema):
    """A line as it was at checkout: name, sku, options and price are copies."""

    product_id: int
    variant_id: int
    name: str = Field(..., description="The product's name at checkout.")
    sku: str = Field(..., description="The variant's sku at checkout.")
    options: OptionValues
    unit_price: Money
    quantity: int
    line_total: Money


class OrderEventOut(Schema):
    status: StatusName
    at: datetime


class ShippingAddressOut(Schema):
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str


# A ninja ``Schema`` (not ``OutputSchema``): it reads the ``lines`` and ``events`` related
# managers, which ninja's getter turns into lists.
class OrderOut(Schema):
    """An order: what was bought at which price, the totals, and its status history."""

    number: str
    status: StatusName
    lines: list[OrderLineOut]
    subtotal: Money
    shipping: Money
    tax: Money
    total: Money
    currency: str
    created_at: datetime
    events: list[OrderEventOut]
    email: str | None = Field(None, description="Present when given at checkout.")
    shipping_address: ShippingAddressOut | None = Field(
        None, description="Present when given at checkout."
    )

    # No return annotation: see CartOut.
    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]  # see CartOut
        return _without_nulls(self, handler, ("email", "shipping_address"))

    @staticmethod
    def resolve_email(obj: Any) -> str | None:
        # A model instance, or the stored JSON of an idempotent replay (email left out).
        email = obj.get("email") if isinstance(obj, dict) else obj.email
        return str(email) if email else None

    @classmethod
    def render(cls, order: Any) -> dict[str, Any]:
        """The order as JSON-ready data (what checkout stores for idempotent retries)."""
        data: dict[str, Any] = cls.from_orm(order).model_dump(mode="json")
        return data


class StaffOrderOut(OrderOut):
    user_id: int | None


class OrderTransitionIn(InputSchema):
    status: StatusName


class StaffOrderFilter(PageParams):
    status: StatusName | None = None
    created_after: datetime | None = Field(None, description="Orders created at or after.")
    created_before: datetime | None = Field(None, description="Orders created before.")
    user: int | None = Field(None, description="A user id.")
