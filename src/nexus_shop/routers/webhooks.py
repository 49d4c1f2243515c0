"""Webhook endpoints, their deliveries and the events feed: ``nexus_shop.manage_webhooks``.

Parse, check the permission, make one call, return; domain errors are mapped in
:mod:`nexus_shop.errors`. Every answer, errors included, is ``Cache-Control: private,
no-store``: endpoints carry secrets, and deliveries and events carry orders.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from nexus_shop.routers.purchase import UNAUTHENTICATED, examples, private_answers
from nexus_shop.schemas.catalog import PageParams
from nexus_shop.schemas.common import ErrorOut, PageOut
from nexus_shop.schemas.webhooks import (
    DeliveryFilter,
    DeliveryOut,
    EventFeedParams,
    EventOut,
    EventTypeOut,
    RedeliveredOut,
    RedeliverSinceIn,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
    WebhookSecretOut,
)
from nexus_shop.security import require_perm, write_auth
from nexus_shop.selectors import webhooks as selectors
from nexus_shop.services.webhooks import endpoints as services

PERM = "nexus_shop.manage_webhooks"


router = Router(tags=["webhooks"])
router.add_decorator(private_answers, mode="view")

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}
ONE: dict[int, Any] = {**ERRORS, 404: ErrorOut}
BODY: dict[int, Any] = {400: ErrorOut, **ERRORS}
NEEDS = f"Needs `{PERM}`."

FORBIDDEN = {"detail": f"You need the {PERM!r} permission.", "errors": []}
NO_ENDPOINT = {"detail": "No webhook endpoint with id 3.", "errors": []}
DISABLED = {
    "detail": "Webhook endpoint 3 is disabled; enable it (PATCH is_enabled=true) before you "
    "ping it. Why it was disabled: Disabled by staff.",
    "errors": [],
}
ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": 3,
    "url": "https://erp.example.com/hooks/nexus",
    "events": ["order.created", "order.paid"],
    "description": "ERP: new and paid orders",
    "is_enabled": True,
    "disabled_reason": "",
    "failing_since": None,
    "previous_secret_expires_at": None,
    "created_at": "2026-11-29T10:15:00Z",
    "updated_at": "2026-11-29T10:15:00Z",
}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105  (a made-up example)
DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": 17,
    "webhook_id": "evt_412",
    "event_type": "order.paid",
    "status": "succeeded",
    "attempt_count": 2,
    "next_attempt_at": "2026-11-29T10:15:05Z",
    "created_at": "2026-11-29T10:15:00Z",
    "finished_at": "2026-11-29T10:15:06Z",
    "attempts": [
        {
            "id": 30,
            "at": "2026-11-29T10:15:00Z",
            "status_code": 503,
            "latency_ms": 41,
            "response_body": "busy",
            "error": "",
        },
        {
            "id": 31,
            "at": "2026-11-29T10:15:06Z",
            "status_code": 204,
            "latency_ms": 38,
            "response_body": "",
            "error": "",
        },
    ],
}
BAD_URL = {
    "detail": "The URL's host resolves to a private address (10.0.0.7), which webhooks may "
    "not reach.",
    "errors": [
        {
            "loc": ["body", "url"],
            "msg": "The URL's host resolves to a private address (10.0.0.7), which webhooks "
            "may not reach.",
            "type": "invalid",
        }
    ],
    "field": "url",
}


def _denied(**more: dict[str, Any]) -> dict[str, Any]:
    return examples(s401=UNAUTHENTICATED, s403=FORBIDDEN, **more)


# Endpoints -----------------------------------------------------------------------------------


@router.post(
    "/webhooks",
    auth=write_auth,
    response={201: WebhookEndpointCreatedOut, **BODY},
    operation_id="webhook_create",
    url_name="webhook-create",
    summary="Create a webhook endpoint",
    description=f"{NEEDS} The answer holds the endpoint's `secret`, shown this once. The "
    "URL is checked (https, public addresses only: 422 otherwise), and so are the event "
    "types; at most `NEXUS_SHOP_WEBHOOK_MAX_ENDPOINTS` endpoints may exist (422).",
    openapi_extra=_denied(s201={**ENDPOINT_EXAMPLE, "secret": SECRET}, s422=BAD_URL),
)
def webhook_create(request: HttpRequest, payload: WebhookEndpointIn) -> Any:
    require_perm(request, PERM)
    return Status(201, services.endpoint_create(**payload.model_dump()))


@router.get(
    "/webhooks",
    auth=write_auth,
    response={200: PageOut[WebhookEndpointOut], **ERRORS},
    operation_id="webhook_list",
    url_name="webhook-list",
    summary="List webhook endpoints",
    description=f"{NEEDS} Oldest first, in the usual envelope (page or cursor mode).",
    openapi_extra=_denied(),
)
def webhook_list(request: HttpRequest, params: Query[PageParams]) -> Any:
    require_perm(request, PERM)
    return selectors.endpoint_list(
        page=params.page, page_size=params.page_size, cursor=params.cursor
    )


@router.get(
    "/webhooks/event-types",
    auth=write_auth,
    response={200: list[EventTypeOut], 401: ErrorOut, 403: ErrorOut},
    operation_id="webhook_event_types",
    url_name="webhook-event-types",
    summary="The event types",
    description=f"{NEEDS} Every event type an endpoint may subscribe to (and "
    "`webhook.ping`), with the JSON Schema of its `data`.",
    by_alias=True,
    openapi_extra=_denied(),
)
def webhook_event_types(request: HttpRequest) -> Any:
    require_perm(request, PERM)
    return selectors.event_type_list()


@router.get(
    "/webhooks/events",
    auth=write_auth,
    response={200: PageOut[EventOut], **ERRORS},
    operation_id="webhook_events",
    url_name="webhook-events",
    summary="The events feed",
    description=f"{NEEDS} The events themselves, oldest first, for a receiver to resync "
    "after an outage: send the id of the last event you processed as `after`, then "
    "each page's `next_cursor` as the next `after` until it is null. The order is commit "
    "order: an event shows only once no transaction that began before it is still "
    "running, so nothing can appear later before a position you have passed. An "
    "`after` that names no event (never written, or pruned) is a 422.",
    openapi_extra=_denied(),
)
def webhook_events(request: HttpRequest, params: Query[EventFeedParams]) -> Any:
    require_perm(request, PERM)
    return selectors.event_feed(
        after=params.after, event_type=params.type, page_size=params.page_size
    )


@router.get(
    "/webhooks/{id}",
    auth=write_auth,
    response={200: WebhookEndpointOut, **ONE},
    operation_id="webhook_get",
    url_name="webhook-detail",
    summary="Get a webhook endpoint",
    description=f"{NEEDS} Its secret is never shown again (rotate it to get a new one).",
    openapi_extra=_denied(s200=ENDPOINT_EXAMPLE, s404=NO_ENDPOINT),
)
def webhook_get(request: HttpRequest, id: int) -> Any:
    require_perm(request, PERM)
    return selectors.endpoint_get(endpoint_id=id)


@router.patch(
    "/webhooks/{id}",
    auth=write_auth,
    response={200: WebhookEndpointOut, **BODY, 404: ErrorOut},
    operation_id="webhook_update",
    url_name="webhook-update",
    summary="Change a webhook endpoint",
    description=f"{NEEDS} Any of `url`, `events`, `description`, `is_enabled`. A new URL "
    "is checked as at creation. Enabling a disabled endpoint clears `disabled_reason` and "
    "its run of failures.",
    openapi_extra=_denied(s200=ENDPOINT_EXAMPLE, s404=NO_ENDPOINT, s422=BAD_URL),
)
def webhook_update(request: HttpRequest, id: int, payload: WebhookEndpointPatch) -> Any:
    require_perm(request, PERM)
    return services.endpoint_update(endpoint_id=id, **payload.model_dump(exclude_unset=True))


@router.delete(
    "/webhooks/{id}",
    auth=write_auth,
    response={204: None, **ONE},
    operation_id="webhook_delete",
    url_name="webhook-delete",
    summary="Delete a webhook endpoint",
    description=f"{NEEDS} Its deliveries and their attempts go with it.",
    openapi_extra=_denied(s404=NO_ENDPOINT),
)
def webhook_delete(request: HttpRequest, id: int) -> Any:
    require_perm(request, PERM)
    services.endpoint_delete(endpoint_id=id)
    return Status(204, None)


@router.post(
    "/webhooks/{id}/rotate-secret",
    auth=write_auth,
    response={200: WebhookSecretOut, **ONE},
    operation_id="webhook_rotate_secret",
    url_name="webhook-rotate-secret",
    summary="Rotate an endpoint's secret",
    description=f"{NEEDS} The new secret is in this answer only. Until "
    "`previous_secret_expires_at` (`NEXUS_SHOP_WEBHOOK_SECRET_OVERLAP`, 24 hours by "
    "default) every delivery carries two signatures, the new secret's and the old one's, so "
    "receivers can switch without a gap.",
    openapi_extra=_denied(
        s200={"secret": SECRET, "previous_secret_expires_at": "2026-11-30T10:15:00Z"},
        s404=NO_ENDPOINT,
    ),
)
def webhook_rotate_secret(request: HttpRequest, id: int) -> Any:
    require_perm(request, PERM)
    return services.rotate_secret(endpoint_id=id)


@router.post(
    "/webhooks/{id}/ping",
    auth=write_auth,
    response={202: DeliveryOut, **ONE, 409: ErrorOut},
    operation_id="webhook_ping",
    url_name="webhook-ping",
    summary="Send a test event",
    description=f"{NEEDS} Queues a `webhook.ping` to this endpoint only; the answer is its "
    "delivery (`pending`). 409 while the endpoint is disabled.",
    openapi_extra=_denied(
        s202={
            **DELIVERY_EXAMPLE,
            "event_type": "webhook.ping",
            "status": "pending",
            "attempt_count": 0,
            "finished_at": None,
            "attempts": [],
        },
        s404=NO_ENDPOINT,
        s409=DISABLED,
    ),
)
def webhook_ping(request: HttpRequest, id: int) -> Any:
    require_perm(request, PERM)
    delivery = services.ping(endpoint_id=id)
    return Status(202, selectors.delivery_get(delivery_id=delivery.pk))


@router.get(
    "/webhooks/{id}/deliveries",
    auth=write_auth,
    response={200: PageOut[DeliveryOut], **ONE},
    operation_id="webhook_delivery_list",
    url_name="webhook-delivery-list",
    summary="An endpoint's deliveries",
    description=f"{NEEDS} Newest first, each with its attempts (oldest first); `status` "
    "and `event_type` filter.",
    openapi_extra=_denied(s404=NO_ENDPOINT),
)
def webhook_delivery_list(
    request: HttpRequest,
    id: int,
    filters: Query[DeliveryFilter],
) -> Any:
    require_perm(request, PERM)
    return selectors.delivery_list(
        endpoint_id=id,
        status=filters.status,
        event_type=filters.event_type,
        page=filters.page,
        page_size=filters.page_size,
        cursor=filters.cursor,
    )


@router.post(
    "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    auth=write_auth,
    response={202: DeliveryOut, **ONE, 409: ErrorOut},
    operation_id="webhook_redeliver",
    url_name="webhook-redeliver",
    summary="Send one delivery again",
    description=f"{NEEDS} The delivery goes back to `pending`, due now: the same event, so "
    "the same `webhook-id`, and a new attempt added to its log. 409 while it is being "
    "sent, or while the endpoint is disabled.",
    openapi_extra=_denied(
        s202={**DELIVERY_EXAMPLE, "status": "pending", "finished_at": None},
        s404=NO_ENDPOINT,
    ),
)
def webhook_redeliver(request: HttpRequest, id: int, delivery_id: int) -> Any:
    require_perm(request, PERM)
    delivery = services.redeliver(endpoint_id=id, delivery_id=delivery_id)
    return Status(202, selectors.delivery_get(delivery_id=delivery.pk))


@router.post(
    "/webhooks/{id}/redeliver",
    auth=write_auth,
    response={202: RedeliveredOut, **BODY, 404: ErrorOut, 409: ErrorOut},
    operation_id="webhook_redeliver_since",
    url_name="webhook-redeliver-since",
    summary="Send every event since a time again",
    description=f"{NEEDS} Every event this endpoint is subscribed to, written at or after "
    "`since`, is queued again (and delivered per resource in order, as always): its "
    "deliveries go back to `pending`, and events it has no delivery for (from before it "
    "subscribed) get one. 409 while the endpoint is disabled.",
    openapi_extra=_denied(s202={"deliveries": 42}, s404=NO_ENDPOINT, s409=DISABLED),
)
def webhook_redeliver_since(request: HttpRequest, id: int, payload: RedeliverSinceIn) -> Any:
    require_perm(request, PERM)
    queued = services.redeliver_since(endpoint_id=id, since=payload.since)
    return Status(202, {"deliveries": queued})
