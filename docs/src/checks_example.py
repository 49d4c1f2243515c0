"""A settings mistake and the system check that catches it (docs/checks.md)."""

# ruff: noqa: S101  (a sample states what the page claims as asserts; the docs tests run it)

from django.core.checks import run_checks
from django.test import override_settings


def currency_check_ids() -> list[str]:
    # --8<-- [start:run]
    with override_settings(NEXUS_SHOP_CURRENCY="euro"):
        messages = run_checks()
    ids = [message.id for message in messages]
    assert "nexus_shop.E002" in ids
    # --8<-- [end:run]
    return ids
