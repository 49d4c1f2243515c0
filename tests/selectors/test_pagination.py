from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nexus_shop.exceptions import ValidationFailed
from nexus_shop.selectors.catalog import PRODUCT_SORTS
from nexus_shop.selectors.pagination import _decode_value, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("price", Decimal("19.99")),
        ("-created_at", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)),
        ("name", "Lamp"),
        ("-name", "Чайник «Заря» 茶壶"),
    ],
)
def test_cursor_round_trip(sort: str, value: object) -> None:
    key = PRODUCT_SORTS[sort]
    cursor = encode_cursor(scope="products", sort=key, value=value, pk=42)
    payload = decode_cursor(cursor, scope="products")
    assert payload["s"] == sort
    assert payload["id"] == 42
    decoded = _decode_value(payload["v"], key.kind)
    assert decoded == value
    assert type(decoded) is type(value)


def test_cursor_is_bound_to_its_scope() -> None:
    cursor = encode_cursor(scope="products", sort=PRODUCT_SORTS["price"], value=Decimal(1), pk=1)
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, scope="categories")


def test_cursor_is_bound_to_the_secret_key(settings: object) -> None:
    cursor = encode_cursor(scope="products", sort=PRODUCT_SORTS["price"], value=Decimal(1), pk=1)
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789"  # type: ignore[attr-defined]  # pytest-django settings fixture
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, scope="products")
