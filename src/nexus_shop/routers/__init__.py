"""The public routers. ``router`` holds them all; mount it on your own ``NinjaAPI``.

If you do, also call :func:`nexus_shop.api.register_exception_handlers` on that API so
domain errors become JSON ``{"detail": ...}`` answers with the right status.
"""

from __future__ import annotations

from ninja import Router

from nexus_shop.routers.auth import router as auth_router
from nexus_shop.routers.catalog import router as catalog_router
from nexus_shop.routers.health import router as health_router

router = Router()
router.add_router("", health_router)
router.add_router("", catalog_router)
router.add_router("/auth", auth_router)

__all__ = ["auth_router", "catalog_router", "health_router", "router"]
