"""The transactional outbox and the webhooks that deliver it.

An :class:`Event` row is written by :func:`nexus_shop.services.events.emit` in the same
transaction as the change it describes: a rolled-back change leaves none, a committed one
always has one, whatever happens to the process after the commit. Webhook workers
(:mod:`nexus_shop.services.webhooks`) fan committed events out to the enabled
:class:`WebhookEndpoint` rows as :class:`WebhookDelivery` rows, and log every attempt.

Ordering: outbox ids are allocated when a row is inserted, not when its transaction
commits, so they are not commit order. Each event instead carries a ``sequence`` within its
``resource`` (``"product:42"``), taken from :class:`EventStream` by an
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: the upsert holds that stream's row lock
until the transaction ends, so a second writer of the same resource waits for the first to
commit and then takes the next number. Per resource, sequence order is commit order.

The resync feed (``GET /webhooks/events``) orders by ``(transaction_id, id)`` and shows only
events whose transaction id is below the oldest transaction still running
(``pg_snapshot_xmin``): a page never shows an event before another that could still commit
under a lower position. On SQLite, whose writers are serialised, ``id`` is commit order and
``transaction_id`` is left null.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q


class EventStream(models.Model):
    """The last sequence number given to one resource's events (see the module docstring)."""

    resource = models.CharField(max_length=64, primary_key=True)
    last_sequence = models.BigIntegerField()

    class Meta:
        verbose_name = "event stream"

    def __str__(self) -> str:
        return f"{self.resource} at {self.last_sequence}"


class Event(models.Model):
    """One committed change, as the outside world hears of it.

    ``data`` is the payload as the API shows the resource at that commit (the product's
    detail, the order, the category); its shape per ``type`` is in
    :data:`nexus_shop.events.EVENT_TYPES`. The public id, sent as ``webhook-id``, is
    ``evt_<id>``.
    """

    type = models.CharField(max_length=64)
    resource = models.CharField(max_length=64)
    sequence = models.BigIntegerField()
    # PostgreSQL's pg_current_xact_id() of the writing transaction (null on SQLite).
    transaction_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField()
    created_at = models.DateTimeField()
    # Set once a worker has created this event's deliveries (one per subscribed endpoint).
    fanned_out = models.BooleanField(default=False)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "sequence"], name="nexus_shop_event_resource_seq_uniq"
            ),
        ]
        indexes = [
            # Workers: the committed events not yet fanned out, per resource in order.
            models.Index(
                fields=["resource", "sequence"],
                condition=Q(fanned_out=False),
                name="nexus_shop_event_fanout_idx",
            ),
            # GET /webhooks/events: the resync feed, in (transaction, id) order.
            models.Index(fields=["transaction_id", "id"], name="nexus_shop_event_feed_idx"),
            # Redeliver since a time; the prune command.
            models.Index(fields=["created_at"], name="nexus_shop_event_age_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"

    @property
    def public_id(self) -> str:
        return f"evt_{self.pk}"


class WebhookEndpoint(models.Model):
    """A receiver: its URL, the event types it wants (``"*"`` for all) and its secret.

    ``secret`` (``whsec_<base64>``) is shown once, when created or rotated. After a
    rotation, ``previous_secret`` keeps signing too until ``previous_secret_expires_at``,
    so receivers can switch without a gap. An endpoint is disabled by staff, by a 410
    answer, or after failing every delivery since ``failing_since`` for the configured
    time; ``disabled_reason`` says which.
    """

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    is_enabled = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    # When the current run of failures began (null after any success).
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        permissions = [("manage_webhooks", "Can manage webhook endpoints and deliveries")]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERING = "delivering", "Delivering"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    GIVEN_UP = "given_up", "Given up"


class WebhookDelivery(models.Model):
    """One event for one endpoint: its status, when to try next, and its attempts.

    ``resource`` and ``sequence`` are the event's, copied so that a worker can tell, from
    this table alone, whether an earlier event of the same resource is still unfinished for
    the same endpoint (it then waits). ``lease_until`` is how long the worker that claimed a
    delivery (status ``delivering``) owns it: past it, a crashed worker's claim is taken
    over, and the event is sent again with the same ``webhook-id``.
    """

    # No index of its own: nexus_shop_delivery_list_idx and the unique constraint lead with it.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    resource = models.CharField(max_length=64)
    sequence = models.BigIntegerField()
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="nexus_shop_delivery_endpoint_event_uniq"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values),
                name="nexus_shop_delivery_status_valid",
            ),
        ]
        indexes = [
            # Workers: what is due (pending and due, or a lapsed lease).
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "delivering"]),
                name="nexus_shop_delivery_due_idx",
            ),
            # Ordering: an earlier unfinished delivery of the same resource to one endpoint.
            models.Index(
                fields=["endpoint", "resource", "sequence"],
                condition=Q(status__in=["pending", "delivering"]),
                name="nexus_shop_delivery_order_idx",
            ),
            # GET /webhooks/{id}/deliveries, newest first; the prune command.
            models.Index(
                fields=["endpoint", "created_at", "id"], name="nexus_shop_delivery_list_idx"
            ),
            models.Index(
                fields=["finished_at"],
                condition=Q(finished_at__isnull=False),
                name="nexus_shop_delivery_done_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"

    @classmethod
    def due_now(
        cls, *, endpoint_id: int, event_id: int, resource: str, sequence: int, now: datetime
    ) -> WebhookDelivery:
        """A new delivery of an event to an endpoint, pending and due at ``now`` (unsaved):
        the event's resource and sequence copied, for the ordering rule."""
        return cls(
            endpoint_id=endpoint_id,
            event_id=event_id,
            resource=resource,
            sequence=sequence,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: when, the answer's status (null when none came),
    how long it took, and the first KiB of the answer's body or of the error."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    response_body = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"attempt {self.pk} of delivery {self.delivery_id}"


EVENT_MODELS: tuple[type[models.Model], ...] = (
    EventStream,
    Event,
    WebhookEndpoint,
    WebhookDelivery,
    WebhookAttempt,
)
