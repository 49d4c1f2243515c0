"""Domain errors raised by services and selectors.

They know nothing of HTTP. The API maps each class to one status code in one place
(:func:`nexus_shop.api.register_exception_handlers`).
"""

from __future__ import annotations

from typing import Any


class NexusShopError(Exception):
    """Base class of every error nexus_shop raises on purpose."""

    default_message = "Request failed."

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(NexusShopError):
    default_message = "Not found."


class Conflict(NexusShopError):
    """The request is valid but clashes with the current state.

    For example a taken slug, or deleting a category that still has products.
    """

    default_message = "Conflict with the current state."


class ValidationFailed(NexusShopError):
    """Input that passed schema validation but breaks a domain rule."""

    default_message = "Invalid input."


class AuthenticationFailed(NexusShopError):
    default_message = "Authentication credentials were not provided or are invalid."


class PermissionDenied(NexusShopError):
    default_message = "You do not have permission to perform this action."


class Throttled(NexusShopError):
    default_message = "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message, extra={"retry_after": retry_after})


class FeatureDisabled(NexusShopError):
    default_message = "This feature is switched off."


class PreconditionFailed(NexusShopError):
    """A condition the request set (``If-Match``...) does not hold (412)."""

    default_message = "A precondition of the request does not hold."


class PreconditionRequired(NexusShopError):
    """The request must carry a header it lacks, e.g. ``Idempotency-Key`` (428)."""

    default_message = "This request needs a precondition header."
