"""Checks of the read replica settings (E080): nexus_shop.db_router."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.db import DEFAULT_DB_ALIAS

from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import conf


@register(Tags.database)
def check_read_replicas(**kwargs: Any) -> list[CheckMessage]:
    """Each alias of ``NEXUS_SHOP_READ_REPLICAS`` is a ``DATABASES`` entry other than the
    primary, and ``NEXUS_SHOP_READ_REPLICA_CACHE`` is in ``CACHES`` (``nexus_shop.E080``)."""
    errors: list[CheckMessage] = []
    raw: object = getattr(settings, "NEXUS_SHOP_READ_REPLICAS", ())
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        return [
            CheckId.READ_REPLICAS.message(
                f"NEXUS_SHOP_READ_REPLICAS must be a list of DATABASES aliases, not {raw!r}."
            )
        ]
    for alias in raw:
        if alias == DEFAULT_DB_ALIAS or alias not in settings.DATABASES:
            errors.append(
                CheckId.READ_REPLICAS.message(
                    f"NEXUS_SHOP_READ_REPLICAS names {alias!r}, which is not a replica's "
                    "alias in DATABASES.",
                    hint="List the aliases of DATABASES entries that point at streaming "
                    "replicas of 'default'.",
                )
            )
    if raw and conf.READ_REPLICA_CACHE not in settings.CACHES:
        errors.append(
            CheckId.READ_REPLICAS.message(
                f"NEXUS_SHOP_READ_REPLICA_CACHE is {conf.READ_REPLICA_CACHE!r}, which is "
                "not in CACHES."
            )
        )
    return errors
