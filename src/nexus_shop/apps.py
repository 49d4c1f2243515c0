from __future__ import annotations

from django.apps import AppConfig


class NexusShopConfig(AppConfig):
    name = "nexus_shop"
    label = "nexus_shop"
    verbose_name = "Nexus shop catalogue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from nexus_shop import (
            checks,  # noqa: F401  (registers the system checks)
            invalidation,
        )
        from nexus_shop.http_cache import core, purge

        # Keep the response cache and the CDN exact: both listen to every committed change.
        invalidation.connect(core.on_change)
        invalidation.connect(purge.on_change)
        # After a Redis outage or a lost cache write, re-version what may be stale.
        from nexus_shop import cache

        cache.on_recovery(cache.reversion_cachalot)
        cache.on_recovery(core.drop_response_cache)

        # Tell django-cachalot that our Redis backend is a Redis backend (else cachalot.W001).
        try:
            from cachalot.settings import SUPPORTED_CACHE_BACKENDS
        except ImportError:  # cachalot is optional
            return
        SUPPORTED_CACHE_BACKENDS.add("nexus_shop.cache.RedisCache")
