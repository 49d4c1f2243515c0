"""docs/checkout.md's curl walk-through, run for real against a live server.

The same rules as ``test_auth_docs``: every ```bash block runs, in order, in one bash
process; a ```text block after a bash block is what it prints (``...`` stands for any
text). The page's ``PRODUCT`` and ``SCARCE`` products are created here first.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nexus_shop.models import Order, Product, ProductVariant
from nexus_shop.services.catalog import product_create
from tests.factories import ProductFactory
from tests.support import doc_pages

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "checkout.md"

# docs/ ships in the sdist (pyproject's sdist include), so these always run: a missing
# page is a failure, not a skip.


def blocks() -> list[tuple[str, str | None]]:
    return doc_pages.blocks(PAGE)


def test_the_page_covers_the_purchase_path() -> None:
    code = "\n".join(body for body, _ in blocks())
    for path in ("/cart", "/cart/items", "/checkout", "/orders", "/orders/$NUMBER/cancel"):
        assert f'"$API{path}"' in code, path
    assert "Idempotency-Key" in code
    assert "stateDiagram-v2" in PAGE.read_text()
    doc_pages.assert_outputs_shown(PAGE)


@pytest.mark.django_db(transaction=True)
def test_the_curl_examples_work(live_server: Any) -> None:
    product = ProductFactory(name="Espresso cup", sku="CUP-1", price="9.50", stock=10)
    scarce = ProductFactory(stock=1)
    shirt = product_create(
        name="Linen shirt",
        sku="SHIRT",
        options=[{"name": "Size", "values": ["S", "M"]}],
        variants=[
            {"sku": f"SHIRT-{size}", "price": Decimal(price), "stock": 5, "options": {"Size": size}}
            for size, price in (("S", "30.00"), ("M", "32.00"))
        ],
    )
    doc_pages.run_walkthrough(
        PAGE,
        env={
            "API": f"{live_server.url}/api",
            "PRODUCT": str(product.pk),
            "SCARCE": str(scarce.pk),
            "SHIRT": str(shirt.pk),
        },
    )
    # What the page claims happened, happened.
    assert Product.objects.get(pk=product.pk).stock == 10  # sold 2, cancelled: back
    assert Product.objects.get(pk=scarce.pk).stock == 1
    assert Product.objects.get(pk=shirt.pk).stock == 10  # the M sold and came back
    assert set(ProductVariant.objects.filter(product=shirt).values_list("stock", flat=True)) == {5}
    assert list(Order.objects.values_list("status", flat=True)) == ["cancelled"]
