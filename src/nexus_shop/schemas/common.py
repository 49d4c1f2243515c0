from __future__ import annotations

from typing import Generic, TypeVar

from ninja import Schema
from pydantic import ConfigDict

T = TypeVar("T")

MAX_PAGE_SIZE = 100


class InputSchema(Schema):
    """Base of every request body: unknown fields are an error (422), not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    detail: str | list[dict[str, object]] | dict[str, object]


class PageOut(Schema, Generic[T]):
    """The one envelope of every list, in page mode and in cursor mode."""

    items: list[T]
    count: int | None
    page: int | None
    page_size: int
    next_cursor: str | None
