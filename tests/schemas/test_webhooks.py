"""The webhook API's schemas: one declaration of the delivery statuses, strict input."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from nexus_shop.models.events import DeliveryStatus
from nexus_shop.schemas.webhooks import (
    DeliveryStatusName,
    EventFeedParams,
    EventTypeOut,
    RedeliverSinceIn,
    WebhookEndpointIn,
    WebhookEndpointPatch,
)


def test_the_statuses_on_the_wire_are_the_models() -> None:
    assert get_args(DeliveryStatusName) == tuple(DeliveryStatus.values)


def test_event_type_out_says_schema_on_the_wire() -> None:
    out = EventTypeOut.model_validate({"name": "a", "description": "b", "schema": {"x": 1}})
    assert out.model_dump(by_alias=True) == {"name": "a", "description": "b", "schema": {"x": 1}}
    properties = EventTypeOut.model_json_schema(mode="serialization")["properties"]
    assert set(properties) == {"name", "description", "schema"}


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://93.184.215.14/", "events": ["*"], "secret": "whsec_mine"},
        {"url": "https://93.184.215.14/", "events": []},
        {"url": "https://93.184.215.14/\n", "events": ["*"], "description": "a\u202eb"},
        {"url": "https://93.184.215.14/", "events": ["*"] * 51},
    ],
)
def test_endpoint_input_is_strict(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WebhookEndpointIn.model_validate(body)


def test_a_patch_takes_any_subset_but_no_null() -> None:
    assert WebhookEndpointPatch.model_validate({}).model_dump(exclude_unset=True) == {}
    for name in ("url", "events", "description", "is_enabled"):
        with pytest.raises(ValidationError, match="cannot be null"):
            WebhookEndpointPatch.model_validate({name: None})
    with pytest.raises(ValidationError):
        WebhookEndpointPatch.model_validate({"is_enabled": 1})


def test_since_needs_a_time_zone_and_after_an_event_id() -> None:
    with pytest.raises(ValidationError):
        RedeliverSinceIn.model_validate({"since": "2026-11-29T10:00:00"})
    assert RedeliverSinceIn.model_validate({"since": "2026-11-29T10:00:00Z"}).since.tzinfo
    for out_of_range in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        with pytest.raises(ValidationError, match="out of range"):
            RedeliverSinceIn.model_validate({"since": out_of_range})
    moved = RedeliverSinceIn.model_validate({"since": "2026-11-29T12:00:00+02:00"}).since
    assert moved.isoformat() == "2026-11-29T10:00:00+00:00"
    for bad in ("evt_", "evt_0", "evt_01", "42", "evt_1x", "evt_" + "9" * 20):
        with pytest.raises(ValidationError):
            EventFeedParams.model_validate({"after": bad})
    assert EventFeedParams.model_validate({"after": "evt_42"}).after == "evt_42"
