"""Checks of the operations settings: the metrics view's door, logs, traces (E070-E072)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.core.checks import CheckMessage, Tags, register

from nexus_shop import tracing
from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import conf

MIN_METRICS_TOKEN_LENGTH = 16


def _whole_at_least_zero(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@register(Tags.security)
def check_operations_settings(**kwargs: Any) -> list[CheckMessage]:
    """The metrics token and networks (``nexus_shop.E070``), the log settings (``E071``),
    tracing (``E072``)."""
    errors: list[CheckMessage] = []
    token: object = conf.METRICS_TOKEN  # whatever the host wrote, not what conf promises
    if token is not None and (not isinstance(token, str) or len(token) < MIN_METRICS_TOKEN_LENGTH):
        errors.append(
            CheckId.METRICS_ACCESS.message(
                f"NEXUS_SHOP_METRICS_TOKEN must be None or a string of at least "
                f"{MIN_METRICS_TOKEN_LENGTH} characters.",
                hint='Generate one: python -c "import secrets; print(secrets.token_urlsafe(32))"',
            )
        )
    for network in conf.METRICS_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            errors.append(
                CheckId.METRICS_ACCESS.message(
                    f"NEXUS_SHOP_METRICS_ALLOWED_NETWORKS has {network!r}, which is not a "
                    'network such as "10.0.0.0/8" or "127.0.0.1".'
                )
            )
    slow = conf.SLOW_QUERY_MS
    if (slow is not None and not _whole_at_least_zero(slow)) or not _whole_at_least_zero(
        conf.ACCESS_LOG_HITS_EVERY
    ):
        errors.append(
            CheckId.OPERATIONS_SETTINGS.message(
                "NEXUS_SHOP_SLOW_QUERY_MS must be None or a whole number >= 0, and "
                "NEXUS_SHOP_ACCESS_LOG_HITS_EVERY a whole number >= 0; not "
                f"{slow!r} and {conf.ACCESS_LOG_HITS_EVERY!r}."
            )
        )
    tracing_on: object = conf.TRACING
    if not isinstance(tracing_on, bool):
        errors.append(
            CheckId.TRACING.message(
                f"NEXUS_SHOP_TRACING must be True or False, not {tracing_on!r}."
            )
        )
    elif tracing_on and not tracing.available():
        errors.append(
            CheckId.TRACING.message(
                "NEXUS_SHOP_TRACING is on but OpenTelemetry is not installed.",
                hint='pip install "nexus-shop[otel]"',
            )
        )
    return errors
