"""Webhook payloads (the ``data`` of each event type) and, with them, the webhook API's
input and output schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, Field, StrictBool, StringConstraints

from nexus_shop.limits import MAX_PAGE_SIZE
from nexus_shop.models.events import Event, WebhookDelivery
from nexus_shop.schemas.catalog import (
    _LINE_CONTROL,
    OutputSchema,
    PageParams,
    PatchSchema,
    _not_null,
    _refuse,
)
from nexus_shop.schemas.common import InputSchema
from nexus_shop.schemas.params import QUERY_DEFAULTS, QueryParams

# Payloads ----------------------------------------------------------------------------------


class InventoryEventData(OutputSchema):
    """``inventory.out_of_stock`` / ``inventory.back_in_stock``: a variant's stock crossed
    zero. Not sent on every sale, only on the crossing."""

    product_id: int
    variant_id: int
    sku: str = Field(..., description="The variant's sku.")
    stock: int = Field(..., description="The variant's stock after the change.")


class PingEventData(OutputSchema):
    """``webhook.ping``: sent on request (``POST /webhooks/{id}/ping``) to test a receiver."""

    endpoint_id: int


# Endpoints ---------------------------------------------------------------------------------

MAX_URL_LENGTH = 2000  # WebhookEndpoint.url's max_length
MAX_SUBSCRIPTIONS = 50
EVENT_NAME_MAX_LENGTH = 64  # Event.type's max_length

WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
    _refuse(_LINE_CONTROL),
]
EventName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=EVENT_NAME_MAX_LENGTH)
]
Subscriptions = Annotated[
    list[EventName],
    Field(
        min_length=1,
        max_length=MAX_SUBSCRIPTIONS,
        description='Event types (`GET /webhooks/event-types`), or `["*"]` for all of them. '
        "`webhook.ping` is sent on request only and cannot be subscribed to.",
    ),
]
EndpointDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), _refuse(_LINE_CONTROL)
]
URL_DOC = (
    "Where events are POSTed: `https` (plain `http` only with "
    "`NEXUS_SHOP_WEBHOOK_ALLOW_HTTP`), and a host that resolves to public addresses only "
    "(loopback, private, link-local and metadata addresses are refused unless "
    "`NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS` holds them)."
)


class WebhookEndpointIn(InputSchema):
    url: WebhookUrl = Field(..., description=URL_DOC)
    events: Subscriptions
    description: EndpointDescription = ""


class WebhookEndpointPatch(PatchSchema):
    """Any subset of the fields. Enabling an endpoint again clears ``disabled_reason`` and
    its run of failures."""

    not_null = frozenset({"url", "events", "description", "is_enabled"})

    url: WebhookUrl = _not_null(URL_DOC)
    events: Subscriptions = _not_null()
    description: EndpointDescription = _not_null()
    is_enabled: StrictBool = _not_null()


class WebhookEndpointOut(OutputSchema):
    """An endpoint, without its secret (shown once, at creation and at each rotation)."""

    id: int
    url: str
    events: list[str]
    description: str
    is_enabled: bool
    disabled_reason: str = Field(
        ...,
        description="Why the endpoint was disabled (by staff, by a `410 Gone` answer, or "
        "after failing every delivery for `NEXUS_SHOP_WEBHOOK_DISABLE_AFTER`); empty "
        "while enabled.",
    )
    failing_since: datetime | None = Field(
        ..., description="When its current run of failed deliveries began; null after a success."
    )
    previous_secret_expires_at: datetime | None = Field(
        ...,
        description="After a rotation: until when deliveries are also signed with the "
        "previous secret.",
    )
    created_at: datetime
    updated_at: datetime


SHOWN_ONCE = (
    "The signing secret (`whsec_` and base64), shown in this answer only: store it now. "
    "Verify each delivery's `webhook-signature` with it (Standard Webhooks)."
)


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str = Field(..., description=SHOWN_ONCE)


class WebhookSecretOut(OutputSchema):
    secret: str = Field(..., description=SHOWN_ONCE)
    previous_secret_expires_at: datetime | None = Field(
        ...,
        description="Until then, deliveries carry a second signature made with the previous "
        "secret, so receivers can switch without a gap.",
    )


# Deliveries --------------------------------------------------------------------------------

DeliveryStatusName = Literal["pending", "delivering", "succeeded", "failed", "given_up"]


class AttemptOut(OutputSchema):
    """One HTTP attempt of a delivery."""

    id: int
    at: datetime
    status_code: int | None = Field(..., description="The receiver's status; null if none came.")
    latency_ms: int
    response_body: str = Field(..., description="The first KiB of the receiver's answer.")
    error: str = Field(..., description="What went wrong (a timeout, a refused address...).")


# A ninja ``Schema`` (not ``OutputSchema``): it reads the prefetched ``attempts`` manager and
# the event's public id.
class DeliveryOut(Schema):
    """One event for one endpoint, with every attempt so far (oldest first)."""

    id: int
    webhook_id: str = Field(
        ...,
        description="The event's id (`evt_<n>`): the `webhook-id` header of every attempt, "
        "redeliveries included.",
    )
    event_type: str
    status: DeliveryStatusName
    attempt_count: int
    next_attempt_at: datetime = Field(
        ..., description="When a pending delivery is due (a failed one's next retry)."
    )
    created_at: datetime
    finished_at: datetime | None
    attempts: list[AttemptOut]

    @staticmethod
    def resolve_webhook_id(obj: WebhookDelivery) -> str:
        return f"evt_{obj.event_id}"

    @staticmethod
    def resolve_event_type(obj: WebhookDelivery) -> str:
        return obj.event.type


class DeliveryFilter(PageParams):
    status: DeliveryStatusName | None = None
    event_type: EventName | None = Field(None, description="One event type.")


def _in_utc(value: datetime) -> datetime:
    """``value`` in UTC, as the database compares it; a time UTC cannot hold is refused
    (``0001-01-01T00:00:00+14:00`` is a 422, not an ``OverflowError``)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("The time is out of range once converted to UTC.") from None


class RedeliverSinceIn(InputSchema):
    since: Annotated[AwareDatetime, AfterValidator(_in_utc)] = Field(
        ...,
        description="Redeliver every event this endpoint is subscribed to from this time on "
        "(with a time zone, e.g. `2026-11-29T10:00:00Z`).",
    )


class RedeliveredOut(Schema):
    deliveries: int = Field(..., description="How many deliveries were queued again or created.")


# Events ------------------------------------------------------------------------------------

EVENT_ID_PATTERN = r"^evt_[1-9][0-9]{0,18}$"


class EventOut(Schema):
    """An event as webhooks carry it: the body's ``type``, ``timestamp`` and ``data``, and
    its id (the ``webhook-id`` header)."""

    id: str = Field(..., description="`evt_<n>`, the `webhook-id` of its deliveries.")
    type: str
    timestamp: datetime = Field(..., description="When the change was made.")
    data: dict[str, Any] = Field(
        ..., description="The payload: its JSON Schema per type is in `GET /webhooks/event-types`."
    )

    @staticmethod
    def resolve_id(obj: Event) -> str:
        return obj.public_id

    @staticmethod
    def resolve_timestamp(obj: Event) -> datetime:
        return obj.created_at


class EventFeedParams(QueryParams):
    after: Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)] | None = Field(
        None,
        description="An event id (`evt_<n>`): the events after it in the feed's order. "
        "Left out, the feed starts with the oldest event kept.",
    )
    type: EventName | None = Field(None, description="One event type.")
    page_size: int | None = Field(
        None,
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Events per page, 1 to {MAX_PAGE_SIZE}. "
        + QUERY_DEFAULTS["page_size"].describe(),
    )


class EventTypeOut(OutputSchema):
    name: str
    description: str
    # "schema" shadows BaseModel.schema(): the field is schema_, "schema" on the wire.
    schema_: dict[str, Any] = Field(
        ..., alias="schema", description="The JSON Schema of this type's `data`."
    )
