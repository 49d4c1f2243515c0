from __future__ import annotations

import secrets
from typing import Any

from django.apps import AppConfig
from django.conf import settings

# Stands in for a NINJA_JWT["SIGNING_KEY"] that is None or empty; see _stand_in_signing_key().
MISSING_SIGNING_KEY_STAND_IN = "nexus-shop-missing-signing-key-" + secrets.token_urlsafe(48)


def _stand_in_signing_key() -> None:
    """Keep a missing signing key from crashing start-up, so the check can report it.

    ``NINJA_JWT = {"SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY")}`` with the variable
    unset gives ``None``, and ninja-jwt validates its settings with pydantic when its models
    are imported (the second phase of ``django.setup()``): a 30-line traceback before any
    system check can run. App configs are created in the first phase, so this runs before
    that import, whatever the order of ``INSTALLED_APPS``. It puts a random per-process key
    in place of ``None`` or ``""`` (an empty HMAC key would let anyone sign tokens), and
    ``nexus_shop.E012`` then stops ``check``, ``migrate`` and ``runserver`` with a message
    that names the setting. A server started without checks fails closed: the random key is
    unknown to anyone, and differs between processes and restarts.
    """
    jwt: Any = getattr(settings, "NINJA_JWT", None)
    if not isinstance(jwt, dict) or "SIGNING_KEY" not in jwt:
        return  # absent: ninja-jwt uses SECRET_KEY (nexus_shop.W001 under --deploy)
    key = jwt["SIGNING_KEY"]
    if not isinstance(key, str) or not key.strip():
        jwt["SIGNING_KEY"] = MISSING_SIGNING_KEY_STAND_IN


class NexusShopConfig(AppConfig):
    name = "nexus_shop"
    label = "nexus_shop"
    verbose_name = "Nexus shop catalogue"
    default_auto_field = "django.db.models.BigAutoField"

    def __init__(self, app_name: str, app_module: Any) -> None:
        super().__init__(app_name, app_module)
        _stand_in_signing_key()

    def ready(self) -> None:
        # Count each request's statements and log the slow ones (nexus_shop.logs).
        from django.db.backends.signals import connection_created

        from nexus_shop import (
            checks,  # noqa: F401  (registers the system checks)
            db_router,
            invalidation,
        )
        from nexus_shop.http_cache import deps, purge
        from nexus_shop.logs import observe_connection

        connection_created.connect(observe_connection, dispatch_uid="nexus_shop.logs")

        # Keep the response cache and the CDN exact: both listen to every committed change.
        # First the commit's LSN for read replicas (nexus_shop.db_router), so a cache miss
        # that sees the new versions also sees the LSN it must read past.
        invalidation.connect(db_router.on_change)
        invalidation.connect(deps.on_change)
        invalidation.connect(purge.on_change)
        # At recovery, after a Redis outage or a lost cache write, flush what may be stale.
        from nexus_shop import cache

        cache.on_recovery(cache.flush_cachalot)
        cache.on_recovery(deps.flush_response_cache)

        # Tell django-cachalot that our Redis backend is a Redis backend (else cachalot.W001).
        try:
            from cachalot.settings import SUPPORTED_CACHE_BACKENDS
        except ImportError:  # cachalot is optional
            return
        SUPPORTED_CACHE_BACKENDS.add("nexus_shop.cache.RedisCache")
