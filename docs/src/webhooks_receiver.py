"""Receiving nexus_shop's webhooks in a Django project: verify, de-duplicate, handle, answer;
and resync from the events feed after an outage (docs/webhooks.md).

tests/docs/test_webhooks_docs.py feeds the view requests signed as the shop signs them
(``nexus_shop.services.webhooks.signing.signature``) and runs the resync loop against a
live server.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

# --8<-- [start:receiver]
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# The secret from the answer that created the endpoint (or rotated its secret).
WEBHOOK_SECRET = os.environ.get("NEXUS_SHOP_WEBHOOK_SECRET", "")

# Event ids already handled. Keep them in a table with a unique column in a real project:
# deliveries are at least once, and a retry or a replay carries the same id.
PROCESSED: set[str] = set()


def on_order_paid(order: dict[str, Any]) -> None:
    print(f"order {order['number']} is paid: {order['total']} {order['currency']}")


def on_product_updated(product: dict[str, Any]) -> None:
    print(f"product {product['id']} changed: {product['name']}")


HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "order.paid": on_order_paid,
    "product.updated": on_product_updated,
}


@csrf_exempt
@require_POST
def nexus_shop_webhook(request: HttpRequest) -> HttpResponse:
    try:
        # Checks the signature (any of them, during a rotation) and that the timestamp is
        # within five minutes; returns the parsed body.
        event = Webhook(WEBHOOK_SECRET).verify(request.body, dict(request.headers))
    except WebhookVerificationError:
        return HttpResponse(status=400)  # not from the shop: a 4xx is not retried
    webhook_id = request.headers["webhook-id"]
    if webhook_id in PROCESSED:
        return HttpResponse(status=204)  # a retry or a replay: done already
    handler = HANDLERS.get(event["type"])
    if handler is not None:
        handler(event["data"])  # an exception here is a 500: the shop retries later
    PROCESSED.add(webhook_id)
    return HttpResponse(status=204)  # any 2xx: delivered
    # --8<-- [end:receiver]


# --8<-- [start:resync]
def resync(api: str, token: str, after: str | None) -> str | None:
    """Handle every event after ``after`` (an event id, ``evt_<n>``), oldest first, from
    the events feed; return the id of the last one, to resume from next time."""
    while True:
        query = f"?after={after}" if after else ""
        request = urllib.request.Request(  # noqa: S310  (the shop's own https URL)
            f"{api}/webhooks/events{query}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  (same)
            page = json.load(answer)
        for event in page["items"]:
            if event["id"] not in PROCESSED:
                handler = HANDLERS.get(event["type"])
                if handler is not None:
                    handler(event["data"])
                PROCESSED.add(event["id"])
            after = event["id"]
        if page["next_cursor"] is None:
            return after
    # --8<-- [end:resync]
