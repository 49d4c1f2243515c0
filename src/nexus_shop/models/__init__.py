from nexus_shop.models.catalog import Category, Product
from nexus_shop.models.orders import (
    Cart,
    CartLine,
    IdempotencyRecord,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)

__all__ = [
    "Cart",
    "CartLine",
    "Category",
    "IdempotencyRecord",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "Product",
]
