"""Checks of the search settings: count, page-depth, ranking and facet limits."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, register

from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import conf


def _whole_at_least_one(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@register(Tags.compatibility)
def check_search_settings(**kwargs: Any) -> list[CheckMessage]:
    """Count, page-depth, ranking and facet limits (``nexus_shop.E050``-``E053``)."""
    errors: list[CheckMessage] = []
    if not _whole_at_least_one(conf.EXACT_COUNT_LIMIT):
        errors.append(
            CheckId.EXACT_COUNT_LIMIT.message(
                "NEXUS_SHOP_EXACT_COUNT_LIMIT must be a whole number >= 1, "
                f"not {conf.EXACT_COUNT_LIMIT!r}.",
            )
        )
    if not _whole_at_least_one(conf.PAGE_MODE_MAX_ITEMS):
        errors.append(
            CheckId.PAGE_MODE_MAX_ITEMS.message(
                "NEXUS_SHOP_PAGE_MODE_MAX_ITEMS must be a whole number >= 1, "
                f"not {conf.PAGE_MODE_MAX_ITEMS!r}.",
            )
        )
    if not _whole_at_least_one(conf.SEARCH_RANK_WINDOW):
        errors.append(
            CheckId.SEARCH_RANK_WINDOW.message(
                "NEXUS_SHOP_SEARCH_RANK_WINDOW must be a whole number >= 1, "
                f"not {conf.SEARCH_RANK_WINDOW!r}.",
            )
        )
    try:
        bounds = conf.FACET_PRICE_BUCKETS
    except (TypeError, ValueError, ArithmeticError):
        bounds = ()
    if (
        not bounds
        or any(not bound.is_finite() or bound <= 0 for bound in bounds)
        or list(bounds) != sorted(set(bounds))
    ):
        errors.append(
            CheckId.FACET_PRICE_BUCKETS.message(
                "NEXUS_SHOP_FACET_PRICE_BUCKETS must be a non-empty, strictly ascending "
                "sequence of positive prices.",
                hint="e.g. (10, 25, 50, 100, 250, 500, 1000)",
            )
        )
    return errors
