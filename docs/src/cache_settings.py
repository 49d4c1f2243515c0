"""Redis and django-cachalot settings for a host of nexus_shop (docs/caching.md)."""

import hashlib
import os

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "NAME": "shop",
        "USER": "shop",
    }
}

# --8<-- [start:caches]
# One key prefix per database: cachalot builds its keys from the SQL alone.
_database = DATABASES["default"]
_identity = "|".join(str(_database.get(k) or "") for k in ("ENGINE", "HOST", "PORT", "NAME"))

CACHES = {
    "default": {
        "BACKEND": "nexus_shop.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "shop-" + hashlib.sha256(_identity.encode()).hexdigest()[:16],
        "OPTIONS": {
            "RETRY_AFTER": 5,  # seconds to skip Redis after a failure (the default)
            "socket_connect_timeout": 0.5,  # the defaults, passed on to redis-py
            "socket_timeout": 0.5,
        },
    }
}
# --8<-- [end:caches]

# --8<-- [start:cachalot]
from nexus_shop.conf import PURCHASE_TABLES, UNCACHABLE_APPS  # noqa: E402  (the snippet's)

INSTALLED_APPS = ["cachalot"]  # next to nexus_shop and the rest
CACHALOT_TIMEOUT = 600  # bounds how long a missed invalidation can serve stale rows
# Users, permissions, tokens, sessions: always from the database (nexus_shop.E020).
CACHALOT_UNCACHABLE_APPS = [*UNCACHABLE_APPS]
# Carts, orders and idempotency records: always from the database (nexus_shop.E021).
CACHALOT_UNCACHABLE_TABLES = [*PURCHASE_TABLES]
# --8<-- [end:cachalot]
