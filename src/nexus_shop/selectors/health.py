from __future__ import annotations

import logging
import uuid
from typing import Literal

from django.core.cache import caches
from django.db import DatabaseError, connection

from nexus_shop.conf import conf

logger = logging.getLogger("nexus_shop.health")

Status = Literal["ok", "down"]


def database_status() -> Status:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: database unreachable")
        return "down"
    return "ok"


def cache_status() -> Status:
    """Write and read back a throwaway key; any error, or a lost value, is "down"."""
    cache = caches[conf.HEALTH_CACHE]
    ping = getattr(cache, "ping", None)
    try:
        if ping is not None:
            return "ok" if ping() else "down"
        key = f"nexus_shop:health:{uuid.uuid4().hex}"
        cache.set(key, "1", timeout=5)
        value = cache.get(key)
        cache.delete(key)
    except Exception:  # any backend, any failure: the cache is down, the API is not
        logger.exception("Health check: cache unreachable")
        return "down"
    return "ok" if value == "1" else "down"
