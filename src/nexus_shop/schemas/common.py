from __future__ import annotations

from typing import Any, Generic, TypeVar

from ninja import Field, Schema
from pydantic import ConfigDict, model_validator

T = TypeVar("T")

MAX_PAGE_SIZE = 100


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
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


class ErrorOut(Schema):
    detail: str | list[dict[str, object]] | dict[str, object]


class PageOut(Schema, Generic[T]):
    """The one envelope of every list, in page mode and in cursor mode."""

    items: list[T]
    count: int | None = Field(
        ...,
        description="Page mode: the number of matching items, exact up to "
        "NEXUS_SHOP_EXACT_COUNT_LIMIT (10,000); past it, that limit. Null in cursor mode.",
    )
    count_exact: bool | None = Field(
        ...,
        description="Page mode: true if `count` is exact; false if more items match than "
        "the limit `count` shows. Null in cursor mode.",
    )
    page: int | None
    page_size: int
    next_cursor: str | None
