"""The public routers. ``router`` holds them all; mount it on your own ``NinjaAPI``.

If you do, also call :func:`nexus_shop.api.register_exception_handlers` on that API so
domain errors become JSON ``{"detail": ...}`` answers with the right status.
"""

from __future__ import annotations

from ninja import Router

from nexus_shop.routers.auth import router as auth_router
from nexus_shop.routers.cart import router as cart_router
from nexus_shop.routers.catalog import router as catalog_router
from nexus_shop.routers.health import router as health_router
from nexus_shop.routers.images import router as images_router
from nexus_shop.routers.orders import router as orders_router
from nexus_shop.routers.staff_orders import router as staff_orders_router
from nexus_shop.routers.webhooks import router as webhooks_router

router = Router()
router.add_router("", health_router)
router.add_router("", catalog_router)
router.add_router("", images_router)
router.add_router("/auth", auth_router)
# The purchase path: 404 and absent from OpenAPI when NEXUS_SHOP_PURCHASE_ENABLED is False.
router.add_router("", cart_router)
router.add_router("", orders_router)
router.add_router("", staff_orders_router)
router.add_router("", webhooks_router)

PURCHASE_ROUTERS = (cart_router, orders_router, staff_orders_router)

__all__ = [
    "PURCHASE_ROUTERS",
    "auth_router",
    "cart_router",
    "catalog_router",
    "health_router",
    "images_router",
    "orders_router",
    "router",
    "staff_orders_router",
    "webhooks_router",
]
