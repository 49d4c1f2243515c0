from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core import signing

from nexus_shop.exceptions import ValidationFailed
from nexus_shop.selectors.pagination import (
    CompactJSONSerializer,
    _decode_value,
    decode_cursor,
    encode_cursor,
)
from nexus_shop.selectors.products import PRODUCT_SORTS


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


def test_the_same_position_gives_the_same_cursor_at_any_time() -> None:
    # A cursor carries no timestamp: a list page's body, and so its ETag, stays the same
    # from one second to the next (If-None-Match gets its 304).
    sort = PRODUCT_SORTS["price"]
    first = encode_cursor(scope="products", sort=sort, value=Decimal(1), pk=1)
    with mock.patch("time.time", return_value=time.time() + 3600):
        later = encode_cursor(scope="products", sort=sort, value=Decimal(1), pk=1)
    assert later == first


def test_a_cursor_handed_out_with_a_timestamp_still_decodes() -> None:
    # Cursors were signing.dumps()'s (timestamped) before; a client may still hold one.
    old = signing.dumps(
        {"s": "price", "v": "1", "id": 7},
        salt="nexus_shop.cursor:products",
        serializer=CompactJSONSerializer,
    )
    assert decode_cursor(old, scope="products")["id"] == 7


def test_cursor_is_bound_to_the_secret_key(settings: object) -> None:
    cursor = encode_cursor(scope="products", sort=PRODUCT_SORTS["price"], value=Decimal(1), pk=1)
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789"  # type: ignore[attr-defined]  # pytest-django settings fixture
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, scope="products")


def test_the_longest_possible_cursor_is_accepted() -> None:
    # A 255-character name that JSON escapes to 6 bytes a character, with the largest id:
    # its cursor was longer than the accepted maximum (a dead end, 422 on the next page).
    from nexus_shop.limits import MAX_CURSOR_LENGTH
    from nexus_shop.schemas.catalog import PageParams
    from nexus_shop.selectors.categories import CATEGORY_SORT

    worst = [
        encode_cursor(scope="products", sort=PRODUCT_SORTS[s], value="\x1f" * 255, pk=2**63 - 1)
        for s in ("name", "-name")
    ]
    worst.append(
        encode_cursor(scope="categories", sort=CATEGORY_SORT, value="/" + "9" * 1023, pk=2**63 - 1)
    )
    for cursor in worst:
        assert len(cursor) <= MAX_CURSOR_LENGTH
        assert PageParams.model_validate({"cursor": cursor}).cursor == cursor
    assert decode_cursor(worst[0], scope="products")["v"] == "\x1f" * 255
