"""Reads behind ``GET /health``: can the database and the cache be reached right now?

:func:`health_report` also owns the rule that turns the two into one overall state: the
database down is "down", the cache down is "degraded" (the API serves without it).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Literal

from django.core.cache import caches
from django.db import Error as DBError
from django.db import connection

from nexus_shop.conf import conf

logger = logging.getLogger("nexus_shop.health")

ServiceState = Literal["ok", "down"]
CacheState = Literal["ok", "degraded", "down"]  # degraded: answers, but refuses writes
OverallState = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The overall state and what it was derived from."""

    status: OverallState
    database: ServiceState
    cache: CacheState


def health_report() -> HealthReport:
    """Check the database and the cache, and say what the API can do without them."""
    database = database_status()
    cache = cache_status()
    status: OverallState
    if database != "ok":
        status = "down"
    elif cache != "ok":
        status = "degraded"
    else:
        status = "ok"
    return HealthReport(status=status, database=database, cache=cache)


def database_status() -> ServiceState:
    """Run ``SELECT 1`` on the default database; any database error is "down"."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    # django.db.Error, not DatabaseError: a connection closed under Django's feet raises
    # InterfaceError, which is not a DatabaseError.
    except DBError as exc:
        logger.warning("Health check: database unreachable: %s", exc)
        return "down"
    return "ok"


def cache_status() -> CacheState:
    """Probe the ``NEXUS_SHOP_HEALTH_CACHE`` cache.

    A backend with a ``probe()`` (``nexus_shop.cache.RedisCache``) is asked directly, past
    its fail-open breaker: "degraded" when Redis answers but refuses writes (at its memory
    limit), since invalidations would then be lost. Any other backend gets a throwaway key
    written and read back: any error, or a lost value, is "down".
    """
    cache = caches[conf.HEALTH_CACHE]
    probe = getattr(cache, "probe", None)
    try:
        if callable(probe):
            result: CacheState = probe()
            return result
        key = f"nexus_shop:health:{uuid.uuid4().hex}"
        cache.set(key, "1", timeout=5)
        value = cache.get(key)
        cache.delete(key)
    except Exception as exc:  # any backend, any failure: the cache is down, the API is not
        logger.warning("Health check: cache unreachable: %s", exc)
        return "down"
    return "ok" if value == "1" else "down"
