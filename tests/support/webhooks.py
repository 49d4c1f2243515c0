"""Delivering by hand in tests: one worker pass, step by step, in the test's thread."""

from __future__ import annotations

from datetime import timedelta

from nexus_shop.services.webhooks import delivery


def deliver_due(*, batch_size: int = 100) -> list[delivery.Result]:
    """One pass: fan out, claim, send one after the other, record. Returns the results."""
    delivery.fan_out()
    claimed = delivery.claim(batch_size=batch_size, lease=timedelta(minutes=1))
    results = [delivery.send(item) for item in claimed]
    delivery.record(results)
    return results
