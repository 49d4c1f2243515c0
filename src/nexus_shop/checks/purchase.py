"""Checks of the purchase path: its pluggable parts, durations and required fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage, Tags, register
from django.utils.module_loading import import_string

from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import CHECKOUT_FIELDS, conf

_PLUGGABLE = (
    ("NEXUS_SHOP_PAYMENT_PROVIDER", "PAYMENT_PROVIDER", "a payment provider class"),
    ("NEXUS_SHOP_SHIPPING_CALCULATOR", "SHIPPING_CALCULATOR", "a shipping calculator"),
    ("NEXUS_SHOP_TAX_CALCULATOR", "TAX_CALCULATOR", "a tax calculator"),
)
_DURATIONS = (
    ("NEXUS_SHOP_ANONYMOUS_CART_TTL", "ANONYMOUS_CART_TTL"),
    ("NEXUS_SHOP_IDEMPOTENCY_KEY_TTL", "IDEMPOTENCY_KEY_TTL"),
    ("NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT", "ORDER_PAYMENT_TIMEOUT"),
)


@register(Tags.compatibility)
def check_purchase_settings(**kwargs: Any) -> list[CheckMessage]:
    """The purchase path's pluggable parts import, its durations are positive."""
    errors: list[CheckMessage] = []
    for name, attribute, what in _PLUGGABLE:
        path: object = getattr(conf, attribute)
        try:
            loaded = import_string(path) if isinstance(path, str) else None
        except ImportError:
            loaded = None
        if not callable(loaded):
            errors.append(
                CheckId.PURCHASE_PLUGGABLE.message(
                    f"{name} = {path!r} does not name {what} that can be imported.",
                    hint="Give the dotted path of a class or function, e.g. "
                    "'nexus_shop.pricing.zero_tax' (see the settings page of the docs).",
                )
            )
    for name, attribute in _DURATIONS:
        value: object = getattr(conf, attribute)
        if not isinstance(value, timedelta) or value <= timedelta(0):
            errors.append(
                CheckId.PURCHASE_DURATION.message(
                    f"{name} must be a positive datetime.timedelta, not {value!r}.",
                )
            )
    unknown = sorted(set(conf.CHECKOUT_REQUIRED_FIELDS) - set(CHECKOUT_FIELDS))
    if unknown:
        errors.append(
            CheckId.CHECKOUT_FIELDS.message(
                f"NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS names unknown fields {unknown}.",
                hint=f"Choose from {list(CHECKOUT_FIELDS)}.",
            )
        )
    return errors
