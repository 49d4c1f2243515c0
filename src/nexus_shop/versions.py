"""Versions of what a product or category detail shows: the strong ``ETag`` and ``If-Match``.

A version is a hash of the representation (the ``ProductOut`` / ``CategoryOut`` fields),
so it changes whenever anything the detail response shows changes, however the row was
written (a service, a conditional ``UPDATE``, the admin). Services compare it, inside
their transaction and with the row locked, against the versions a client sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from nexus_shop.exceptions import PreconditionFailed
from nexus_shop.models import Category, Product


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def product_version(product: Product) -> str:
    """The version of ``product``'s detail: its category loaded (or loadable), and its
    ``shown_variants`` and ``shown_images`` attached
    (:func:`nexus_shop.selectors.products.attach_detail`)."""
    from nexus_shop.schemas.catalog import ProductDetailOut

    return _digest(ProductDetailOut.model_validate(product).model_dump_json().encode())


def category_version(category: Category) -> str:
    """The version of ``category``'s detail; ``product_count`` must be set."""
    from nexus_shop.schemas.catalog import CategoryOut

    return _digest(CategoryOut.model_validate(category).model_dump_json().encode())


def etag(version: str) -> str:
    """``version`` as a strong entity tag (quoted)."""
    return f'"{version}"'


def check(current: str, expected: Sequence[str] | None) -> None:
    """Raise :class:`PreconditionFailed` unless ``expected`` (If-Match tags) names ``current``.

    ``None`` means no precondition; ``("*",)`` matches any existing row.
    """
    if expected is None:
        return
    if "*" in expected or current in expected:
        return
    raise PreconditionFailed("The resource has changed since you read it (If-Match failed).")
