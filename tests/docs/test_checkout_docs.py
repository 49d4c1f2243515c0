"""docs/checkout.md's curl walk-through, run for real against a live server.

The same rules as ``test_auth_docs``: every ```bash block runs, in order, in one bash
process; a ```text block after a bash block is what it prints (``...`` stands for any
text). The page's ``PRODUCT`` and ``SCARCE`` products are created here first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nexus_shop.models import Order, Product
from tests.factories import ProductFactory

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "checkout.md"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MARK = "@@nexus-shop-docs-block@@"

pytestmark = pytest.mark.skipif(
    not PAGE.is_file(), reason="docs/ is not shipped in the sdist; run from a checkout"
)


def blocks() -> list[tuple[str, str | None]]:
    fences = [(m.group(1), m.group(2)) for m in FENCE.finditer(PAGE.read_text())]
    found = []
    for i, (language, body) in enumerate(fences):
        if language != "bash":
            continue
        following = fences[i + 1] if i + 1 < len(fences) else None
        expected = following[1] if following and following[0] == "text" else None
        found.append((body, expected))
    return found


def matches(expected: str, actual: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in expected.strip().split("..."))
    return re.fullmatch(pattern, actual.strip(), re.DOTALL) is not None


def test_the_page_covers_the_purchase_path() -> None:
    code = "\n".join(body for body, _ in blocks())
    for path in ("/cart", "/cart/items", "/checkout", "/orders", "/orders/$NUMBER/cancel"):
        assert f'"$API{path}"' in code, path
    assert "Idempotency-Key" in code
    assert "stateDiagram-v2" in PAGE.read_text()
    assert sum(expected is not None for _, expected in blocks()) >= 5


@pytest.mark.django_db(transaction=True)
def test_the_curl_examples_work(live_server: Any) -> None:
    missing = [tool for tool in ("bash", "curl", "python3") if shutil.which(tool) is None]
    if missing:
        if CI:
            pytest.fail(f"{', '.join(missing)} missing in CI")
        pytest.skip(f"{', '.join(missing)} not installed")
    product = ProductFactory(name="Espresso cup", sku="CUP-1", price="9.50", stock=10)
    scarce = ProductFactory(stock=1)
    examples = blocks()
    script = "set -euo pipefail\n" + "".join(f"{body}\necho '{MARK}'\n" for body, _ in examples)
    result = subprocess.run(  # noqa: S603  (bash with a script from our own docs)
        [shutil.which("bash") or "bash", "-c", script],
        env={
            **os.environ,
            "API": f"{live_server.url}/api",
            "PRODUCT": str(product.pk),
            "SCARCE": str(scarce.pk),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    outputs = result.stdout.split(f"{MARK}\n")
    assert len(outputs) == len(examples) + 1
    for (body, expected), output in zip(examples, outputs, strict=False):
        if expected is not None:
            assert matches(expected, output), (body, expected, output)
    # What the page claims happened, happened.
    assert Product.objects.get(pk=product.pk).stock == 10  # sold 2, cancelled: back
    assert Product.objects.get(pk=scarce.pk).stock == 1
    assert list(Order.objects.values_list("status", flat=True)) == ["cancelled"]
