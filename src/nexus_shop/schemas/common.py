from __future__ import annotations

from typing import Any, Generic, TypeVar

from ninja import Field, Schema
from pydantic import ConfigDict, model_validator

from nexus_shop.conf import described
from nexus_shop.limits import MAX_INPUT_DEPTH, MAX_REPORTED_ERRORS

T = TypeVar("T")


class InputTooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"Input is nested more than {MAX_INPUT_DEPTH} levels deep.")


def input_depth_ok(value: Any, *, max_depth: int = MAX_INPUT_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests at most ``max_depth`` containers deep.

    Iterative, so a hostile body cannot make it recurse; it stops at the first level too many.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= max_depth:
            return False
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list | tuple)
        )
    return True


def _has_nul(value: Any) -> bool:
    """Whether any string (or key) in ``value`` holds NUL; iterative and depth-bounded."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            continue
        if depth > MAX_INPUT_DEPTH:
            raise InputTooDeep
        if isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
    return False


class RefusesNul(Schema):
    """Input with a NUL character is a 422 on every backend.

    PostgreSQL cannot store NUL in text (psycopg raises, which would be a 500) while SQLite
    stores it: refusing it at the door keeps the two alike, as Django's forms do with
    ``ProhibitNullCharactersValidator``.
    """

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        # ninja's Schema hands validators its DjangoGetter wrapper; look at what it wraps.
        if _has_nul(getattr(data, "_obj", data)):
            raise ValueError("Text must not contain NUL (\\x00) characters.")
        return data


class InputSchema(RefusesNul):
    """Base of every request body: unknown fields are an error (422), not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorItem(Schema):
    """One problem with the request, located like pydantic's errors."""

    loc: list[str | int] = Field(
        ...,
        description='Where: the source first (`"body"`, `"query"`, `"path"`, `"header"`), '
        'then the field path, e.g. `["body", "price"]`.',
    )
    msg: str = Field(..., description="What is wrong, for a human.")
    type: str = Field(..., description='A stable machine code, e.g. `"missing"`, `"conflict"`.')


class StockShortfall(Schema):
    """A cart line that lacks stock at checkout."""

    product_id: int
    variant_id: int = Field(..., description="The variant the line holds.")
    requested: int = Field(..., description="The quantity in the cart.")
    available: int = Field(..., description="What is in stock now (0 if no longer for sale).")


class Error(Schema):
    """The body of every 4xx and 5xx answer under the API.

    ``detail`` is always one sentence; ``errors`` lists the problems with single fields
    (empty when the error is not about a field). Some errors add the keys listed here.
    """

    model_config = ConfigDict(extra="allow")  # errors may add documented keys

    detail: str = Field(..., description="One human-readable sentence.")
    errors: list[ErrorItem] = Field(
        ...,
        description=f"At most {MAX_REPORTED_ERRORS} field problems; `error_count` gives the "
        "total when there were more.",
    )
    field: str | None = Field(
        None,
        description="Domain errors about one field (a taken `slug`, an unknown "
        "`category_id`, a bad `cursor`): its name. The same field is in `errors[0].loc`.",
    )
    error_count: int | None = Field(
        None,
        description=f"Only when more than {MAX_REPORTED_ERRORS} problems were found: "
        "how many, in all.",
    )
    retry_after: int | None = Field(
        None, description="429 only: seconds to wait, as in the `Retry-After` header."
    )
    lines: list[StockShortfall] | None = Field(
        None,
        description="409 from checkout only: each cart line lacking stock. Nothing was "
        "ordered and no stock changed.",
    )
    request_id: str | None = Field(
        None,
        description="The request's id, as in its `X-Request-ID` response header (the "
        "client's own `X-Request-ID` when it was 1 to 128 visible ASCII characters, else a "
        "new one): quote it when reporting a problem. Present whenever the host installs "
        "nexus_shop's observability middleware.",
    )
    variant_ids: list[int] | None = Field(
        None,
        description="422 from `POST /cart/items` only, for a `product_id` of a product with "
        "several variants: the ids of its variants that can be bought. Send one of them as "
        "`variant_id`.",
    )


# Kept for code written against 0.x: the schema is called ``Error`` in OpenAPI.
ErrorOut = Error


class PageOut(Schema, Generic[T]):
    """The one envelope of every list, in page mode and in cursor mode."""

    items: list[T]
    count: int | None = Field(
        ...,
        description="Page mode: the number of matching items, exact up to "
        f"{described('EXACT_COUNT_LIMIT')}; past it, that limit. Null in cursor mode.",
    )
    count_exact: bool | None = Field(
        ...,
        description="Page mode: true if `count` is exact; false if more items match than "
        "the limit `count` shows. Null in cursor mode.",
    )
    page: int | None
    page_size: int
    next_cursor: str | None
