"""The event types nexus_shop emits, and the shape of each one's ``data``.

One table, :data:`EVENT_TYPES`: the services emit only these names
(:func:`nexus_shop.services.events.emit` refuses others), endpoints subscribe to them (or to
``"*"``), and ``GET /webhooks/event-types`` publishes each with the JSON Schema of its
payload, derived from the schema named here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel

from nexus_shop.schemas.catalog import CategoryOut, ProductDetailOut
from nexus_shop.schemas.orders import OrderOut
from nexus_shop.schemas.webhooks import InventoryEventData, PingEventData

ALL_EVENTS: Final = "*"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # The schema of ``data``; its JSON Schema is what GET /webhooks/event-types shows.
    schema: type[BaseModel]
    # What ``resource`` the event belongs to ("product", "category", "order", "endpoint"):
    # events of one resource are delivered to an endpoint in commit order.
    resource: str

    def json_schema(self) -> dict[str, Any]:
        return self.schema.model_json_schema(mode="serialization")


def _types(*types: EventType) -> Mapping[str, EventType]:
    return MappingProxyType({event_type.name: event_type for event_type in types})


EVENT_TYPES: Final[Mapping[str, EventType]] = _types(
    EventType("product.created", "A product was created.", ProductDetailOut, "product"),
    EventType(
        "product.updated",
        "A product, one of its variants or one of its images was changed by staff. A sale "
        "is not an update (see inventory.*).",
        ProductDetailOut,
        "product",
    ),
    EventType("product.deleted", "A product was soft-deleted.", ProductDetailOut, "product"),
    EventType("product.restored", "A deleted product was restored.", ProductDetailOut, "product"),
    EventType("category.created", "A category was created.", CategoryOut, "category"),
    EventType("category.updated", "A category was changed.", CategoryOut, "category"),
    EventType("category.deleted", "A category was soft-deleted.", CategoryOut, "category"),
    EventType("category.restored", "A deleted category was restored.", CategoryOut, "category"),
    EventType(
        "inventory.out_of_stock",
        "A variant's stock reached zero (sent on the crossing, not on every sale).",
        InventoryEventData,
        "product",
    ),
    EventType(
        "inventory.back_in_stock",
        "A variant's stock rose from zero.",
        InventoryEventData,
        "product",
    ),
    EventType("order.created", "An order was placed (checkout).", OrderOut, "order"),
    EventType("order.paid", "An order was paid.", OrderOut, "order"),
    EventType("order.cancelled", "An order was cancelled.", OrderOut, "order"),
    EventType("order.fulfilled", "An order was fulfilled.", OrderOut, "order"),
    EventType(
        "webhook.ping",
        "A test event, sent to one endpoint on request.",
        PingEventData,
        "endpoint",
    ),
)


def subscribed(subscriptions: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``subscriptions`` wants ``event_type``.

    ``webhook.ping`` is addressed to one endpoint and never fanned out by subscription.
    """
    return event_type != "webhook.ping" and (
        ALL_EVENTS in subscriptions or event_type in subscriptions
    )
