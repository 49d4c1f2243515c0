"""Facets (``nexus_shop.selectors.facets``): counts of what the viewer's list holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from nexus_shop.schemas.catalog import ProductFacetsParams
from nexus_shop.selectors.facets import product_facets
from nexus_shop.selectors.search import WIDEN_WHEN_FEWER_THAN
from tests.factories import CategoryFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_facets_count_what_the_viewer_sees() -> None:
    lamps = CategoryFactory(slug="lamps")
    ProductFactory(category=lamps, price=Decimal("5.00"))
    ProductFactory(category=lamps, price=Decimal("5.00"), is_active=False)
    ProductFactory(category=lamps, price=Decimal("5.00"), deleted_at=timezone.now())
    ProductFactory(price=Decimal("5.00"))
    params = ProductFacetsParams.model_validate({})

    public = product_facets(params=params, viewer=None)
    staff = product_facets(params=params, viewer=UserFactory(perms=["delete_product"]))

    assert (public.count, public.uncategorized) == (2, 1)
    assert [(c.slug, c.count) for c in public.categories] == [("lamps", 1)]
    assert (staff.count, staff.uncategorized) == (3, 1)
    assert [(c.slug, c.count) for c in staff.categories] == [("lamps", 2)]
    assert sum(bucket.count for bucket in public.price_buckets) == public.count


def test_the_docstring_names_the_probe_the_code_runs() -> None:
    # The probe counts up to WIDEN_WHEN_FEWER_THAN - 1 exact matches (count_up_to reads
    # one more row to know whether there are more).
    assert f"``WIDEN_WHEN_FEWER_THAN - 1`` ({WIDEN_WHEN_FEWER_THAN - 1})" in (
        product_facets.__doc__ or ""
    )
