"""Domain errors raised by services and selectors.

They know nothing of HTTP. The API maps each class to one status code in one place
(:func:`nexus_shop.api.register_exception_handlers`).
"""

from __future__ import annotations

from typing import Any


class NexusShopError(Exception):
    """Base class of every error nexus_shop raises on purpose."""

    default_message = "Request failed."
    #: ``errors[].type`` in the answer when the error is about one field (``extra["field"]``).
    error_type = "invalid"

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(NexusShopError):
    default_message = "Not found."
    error_type = "not_found"


class Conflict(NexusShopError):
    """The request is valid but clashes with the current state.

    For example a taken slug, or deleting a category that still has products.
    """

    default_message = "Conflict with the current state."
    error_type = "conflict"


class OutOfStock(Conflict):
    """Checkout refused: a line of the cart lacks stock. ``extra["lines"]`` says which."""


class ValidationFailed(NexusShopError):
    """Input that passed schema validation but breaks a domain rule."""

    default_message = "Invalid input."
    error_type = "invalid"


class AuthenticationFailed(NexusShopError):
    default_message = "Authentication credentials were not provided or are invalid."
    error_type = "not_authenticated"


class PermissionDenied(NexusShopError):
    default_message = "You do not have permission to perform this action."
    error_type = "permission_denied"


class Throttled(NexusShopError):
    default_message = "Too many requests."
    error_type = "throttled"

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message, extra={"retry_after": retry_after})


class PreconditionFailed(NexusShopError):
    """A conditional request's precondition (``If-Match``, ``If-Unmodified-Since``) is false."""

    default_message = "Precondition failed: the resource has changed."
    error_type = "precondition_failed"


class PreconditionRequired(NexusShopError):
    """The request must be conditional (e.g. send ``If-Match``) and was not."""

    default_message = "This request must be conditional (send If-Match)."
    error_type = "precondition_required"


class PayloadTooLarge(NexusShopError):
    """A request body or upload over its size limit (e.g. ``NEXUS_SHOP_MAX_IMAGE_BYTES``)."""

    default_message = "The upload is too large."
    error_type = "too_large"


class UnsupportedMediaType(NexusShopError):
    """Content of a type that is not accepted, whatever it claims to be (an SVG, HTML...)."""

    default_message = "This type of content is not accepted."
    error_type = "unsupported_media_type"


class FeatureDisabled(NexusShopError):
    default_message = "This feature is switched off."
    error_type = "feature_disabled"
