from nexus_shop.models.catalog import (
    Category,
    Product,
    ProductImage,
    ProductVariant,
    VariantOption,
)
from nexus_shop.models.events import (
    DeliveryStatus,
    Event,
    EventStream,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
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
    "DeliveryStatus",
    "Event",
    "EventStream",
    "IdempotencyRecord",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "Product",
    "ProductImage",
    "ProductVariant",
    "VariantOption",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
