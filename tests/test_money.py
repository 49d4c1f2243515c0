"""nexus_shop.money: the one statement of the money columns, the maximum and the rounding.

Each test would fail if a copy of a figure drifted from it: a column, the schema's bound,
its OpenAPI maximum and pattern, the checkout's refusal of a total too large, the rounding.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, Inexact, Rounded, localcontext
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DataError, models, transaction
from django.test import Client
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from nexus_shop.models import Order, Product
from nexus_shop.money import CENT, DECIMAL_PLACES, MAX_AMOUNT, MAX_DIGITS, to_cents
from nexus_shop.schemas.catalog import PRICE_PATTERN, Price
from tests.factories import ProductFactory, UserFactory
from tests.purchase.conftest import checkout, fill_cart, user_client

TOO_MUCH = MAX_AMOUNT + CENT


def test_the_figures() -> None:
    assert (Decimal("0.01"), Decimal("9999999999.99")) == (CENT, MAX_AMOUNT)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("1E+2", "100.00"),
        ("-0", "0.00"),
        ("19.9", "19.90"),
        ("0.125", "0.12"),  # half to the even cent
        ("0.135", "0.14"),
        ("0.1251", "0.13"),
    ],
)
def test_to_cents(value: str, cents: str) -> None:
    result = to_cents(Decimal(value))
    assert str(result) == cents
    assert result.as_tuple().exponent == -DECIMAL_PLACES


def test_to_cents_ignores_the_threads_decimal_context() -> None:
    # A host that sets ROUND_HALF_UP for its own sums changes no total of ours.
    with localcontext() as context:
        context.rounding = ROUND_HALF_UP
        assert to_cents(Decimal("0.125")) == Decimal("0.12")


@pytest.mark.parametrize(
    ("value", "cents"),
    [("-0", "0.00"), ("123456.785", "123456.78"), ("-0.001", "0.00"), ("1E+2", "100.00")],
)
def test_to_cents_ignores_a_hostile_decimal_context(value: str, cents: str) -> None:
    # Three digits of precision, trapping any rounding, rounding down: none of it applies.
    with localcontext(prec=3, rounding=ROUND_FLOOR) as context:
        context.traps[Inexact] = context.traps[Rounded] = True
        assert str(to_cents(Decimal(value))) == cents


def money_fields() -> list[models.DecimalField[Any, Any]]:
    return [
        field
        for model in apps.get_app_config("nexus_shop").get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.DecimalField)
    ]


def test_every_money_column_holds_max_amount_and_no_more() -> None:
    fields = money_fields()
    names = {f"{field.model.__name__}.{field.name}" for field in fields}
    assert {"Product.price", "Order.total", "OrderLine.line_total"} <= names
    for field in fields:
        assert (field.max_digits, field.decimal_places) == (MAX_DIGITS, DECIMAL_PLACES), field
        field.run_validators(MAX_AMOUNT)
        with pytest.raises(ValidationError):
            field.run_validators(TOO_MUCH)
        with pytest.raises(ValidationError):
            field.run_validators(MAX_AMOUNT / 10)  # a third decimal place


def test_the_price_schema_takes_max_amount_and_no_more() -> None:
    price: TypeAdapter[Decimal] = TypeAdapter(Price)
    assert price.validate_python(str(MAX_AMOUNT)) == MAX_AMOUNT
    with pytest.raises(PydanticValidationError):
        price.validate_python(str(TOO_MUCH))
    documented = price.json_schema()["anyOf"]
    assert documented[0]["maximum"] == float(MAX_AMOUNT)
    assert re.fullmatch(documented[1]["pattern"], str(MAX_AMOUNT))
    assert documented[1]["pattern"] == PRICE_PATTERN
    assert not re.fullmatch(PRICE_PATTERN, str(TOO_MUCH))
    assert not re.fullmatch(PRICE_PATTERN, "1.001")


@pytest.mark.django_db
def test_max_amount_is_stored_and_read_back_exactly() -> None:
    product = ProductFactory(price=MAX_AMOUNT)
    product.refresh_from_db()
    assert product.price == MAX_AMOUNT


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_column_refuses_a_cent_more() -> None:
    product = ProductFactory()
    with pytest.raises(DataError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=TOO_MUCH)


@pytest.fixture
def buyer_client(db: None) -> Client:
    return user_client(UserFactory())


def test_an_order_of_max_amount_is_placed_and_a_cent_more_is_refused(
    buyer_client: Client, settings: Any
) -> None:
    settings.NEXUS_SHOP_SHIPPING_CALCULATOR = f"{__name__}.one_cent_shipping"
    product = ProductFactory(price=MAX_AMOUNT - CENT, stock=10)
    fill_cart(buyer_client, [(product.pk, 1)])
    placed = checkout(buyer_client)
    assert placed.status_code == 201, placed.content
    assert placed.json()["total"] == str(MAX_AMOUNT)

    settings.NEXUS_SHOP_SHIPPING_CALCULATOR = f"{__name__}.two_cent_shipping"
    fill_cart(buyer_client, [(product.pk, 1)])
    refused = checkout(buyer_client)
    assert refused.status_code == 422, refused.content
    assert "too large" in refused.json()["detail"]
    assert Order.objects.count() == 1


def test_a_calculators_amount_is_rounded_to_cents_half_to_even(
    buyer_client: Client, settings: Any
) -> None:
    settings.NEXUS_SHOP_TAX_CALCULATOR = f"{__name__}.tax_of_an_eighth"
    fill_cart(buyer_client, [(ProductFactory(price="1.00", stock=1).pk, 1)])
    with localcontext() as context:  # the request runs in this thread
        context.rounding = ROUND_HALF_UP
        response = checkout(buyer_client)
    assert response.status_code == 201, response.content
    assert (response.json()["tax"], response.json()["total"]) == ("0.12", "1.12")


def one_cent_shipping(**kwargs: Any) -> Decimal:
    return CENT


def two_cent_shipping(**kwargs: Any) -> Decimal:
    return 2 * CENT


def tax_of_an_eighth(**kwargs: Any) -> Decimal:
    return Decimal("0.125")
