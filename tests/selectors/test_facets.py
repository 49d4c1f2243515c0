"""Facets (``nexus_shop.selectors.facets``): counts of what the viewer's list holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from nexus_shop.models import Category
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


def test_a_deleted_category_sharing_a_live_ones_slug_is_not_the_subtree() -> None:
    """Facets name live categories only: a deleted one's slug may be a live one's now."""
    old = CategoryFactory(slug="lamps")
    old_child = CategoryFactory(slug="old-desk-lamps", parent=old)
    now = timezone.now()
    Category.all_objects.filter(pk__in=[old.pk, old_child.pk]).update(deleted_at=now)
    new = CategoryFactory(slug="lamps")
    ProductFactory(category=new)
    params = ProductFacetsParams.model_validate({"category": "lamps"})

    facets = product_facets(params=params, viewer=None)

    assert facets.count == 1
    assert facets.subtree is not None
    assert (facets.subtree.id, facets.subtree.count) == (new.pk, 1)
    assert [(c.id, c.count) for c in facets.categories] == [(new.pk, 1)]
