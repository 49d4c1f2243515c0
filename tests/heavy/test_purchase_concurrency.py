"""The purchase path's concurrency promises at full size: 100 buyers for 10 items (of a
single-variant product, and of one variant of a product with three), and 20 checkouts of
crossed carts. The quick versions, and the helpers, are in
tests/purchase/test_concurrency.py."""

from __future__ import annotations

import pytest

from tests.purchase.test_concurrency import crossed_carts, no_oversell, no_oversell_on_a_variant

pytestmark = [pytest.mark.heavy, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_no_oversell_100_buyers_stock_10() -> None:
    no_oversell(buyers=100, stock=10)


def test_no_oversell_100_buyers_stock_10_on_one_variant() -> None:
    no_oversell_on_a_variant(buyers=100, stock=10)


def test_crossed_carts_no_deadlock_20() -> None:
    crossed_carts(pairs=10)
