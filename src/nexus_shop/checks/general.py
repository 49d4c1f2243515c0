"""Checks of the general settings: auth paths, currency, throttle rates, proxies, paging."""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import CheckMessage, Tags, register
from django.utils.module_loading import import_string

from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import CATEGORY_DEPTH_LIMIT, conf
from nexus_shop.limits import MAX_PAGE_SIZE
from nexus_shop.throttling import parse_rate


def _is_rate(rate: object) -> bool:
    """Whether the throttle can use ``rate``: asks its own parser, so the two never differ."""
    if not isinstance(rate, str):
        return False
    try:
        parse_rate(rate)
    except ValueError:
        return False
    return True


@register(Tags.compatibility)
def check_settings(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for path in conf.AUTH:
        try:
            import_string(path)
        except ImportError:
            errors.append(
                CheckId.AUTH_PATH.message(
                    f"NEXUS_SHOP_AUTH names {path!r}, which cannot be imported.",
                    hint="Use dotted paths of ninja auth classes, e.g. "
                    "'nexus_shop.security.JWTAuth'.",
                )
            )
    currency: object = conf.CURRENCY  # typed str, but a host can set anything
    if not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
        errors.append(
            CheckId.CURRENCY.message(
                "NEXUS_SHOP_CURRENCY must be an ISO 4217 code such as 'USD', "
                f"not {conf.CURRENCY!r}.",
            )
        )
    rates: dict[str, object] = dict(conf.THROTTLE_RATES)
    for scope, rate in rates.items():
        if rate is not None and not _is_rate(rate):
            errors.append(
                CheckId.THROTTLE_RATE.message(
                    f"NEXUS_SHOP_THROTTLE_RATES[{scope!r}] = {rate!r} is not a rate.",
                    hint="Use 'N/s', 'N/m', 'N/h' or 'N/d' (e.g. '10/m'), or None to switch off.",
                )
            )
    count: object = conf.TRUSTED_PROXY_COUNT
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        errors.append(
            CheckId.PROXY_COUNT.message(
                f"NEXUS_SHOP_TRUSTED_PROXY_COUNT must be a whole number >= 0, not {count!r}.",
            )
        )
    depth: object = conf.CATEGORY_MAX_DEPTH
    if (
        isinstance(depth, bool)
        or not isinstance(depth, int)
        or not 1 <= depth <= CATEGORY_DEPTH_LIMIT
    ):
        errors.append(
            CheckId.CATEGORY_DEPTH.message(
                f"NEXUS_SHOP_CATEGORY_MAX_DEPTH must be from 1 to {CATEGORY_DEPTH_LIMIT}, "
                f"not {depth!r}.",
                hint=f"A category's path (1,024 characters) holds at most "
                f"{CATEGORY_DEPTH_LIMIT} levels of ids.",
            )
        )
    page_size: object = conf.DEFAULT_PAGE_SIZE
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append(
            CheckId.PAGE_SIZE.message(
                f"NEXUS_SHOP_DEFAULT_PAGE_SIZE must be from 1 to {MAX_PAGE_SIZE}, "
                f"not {page_size!r}.",
            )
        )
    return errors
