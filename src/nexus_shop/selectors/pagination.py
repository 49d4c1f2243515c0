"""Page and cursor (keyset) pagination with one envelope.

Page mode runs two queries (COUNT and the page). Cursor mode runs one: an index seek on
``(sort key, id) > (last value, last id)`` with no OFFSET and no COUNT. Both modes hand back
``next_cursor``, pointing just after the page's last item, so a client can switch from page
mode to cursor mode at any point.

Why not ninja's paginators (``PageNumberPagination``, ``CursorPagination``): the cursors
here are *signed* (``django.core.signing``, bound to the list and the sort order), so a
client cannot forge a position or replay it against another list, where ninja's cursor
is plain base64; they seek on ``(sort key, id)`` for every sort order the client may
choose, where ninja's uses the first ordering field plus an OFFSET for ties; and page
and cursor mode share one envelope with ``next_cursor`` in both.

Page mode is bounded on big tables: the COUNT stops at ``NEXUS_SHOP_EXACT_COUNT_LIMIT``
matches (``count`` is then that limit and ``count_exact`` false), and a page reaching past
``NEXUS_SHOP_PAGE_MODE_MAX_ITEMS`` items is a 422 pointing to cursors, since an OFFSET
reads every row it skips.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.core import signing
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, F, Value
from django.db.models.sql.compiler import SQLCompiler

from nexus_shop.conf import conf
from nexus_shop.exceptions import ValidationFailed
from nexus_shop.schemas.params import default_of

if TYPE_CHECKING:
    from nexus_shop.schemas.catalog import PageParams

_M = TypeVar("_M", bound=models.Model)

_SALT = "nexus_shop.cursor"


@dataclass(frozen=True)
class SortKey:
    """A sort order. ``field`` is a model field or an annotation.

    ``kind`` says how its value travels in a cursor.
    """

    name: str  # public name, e.g. "-price"
    field: str
    descending: bool
    kind: str  # "decimal" | "datetime" | "str" | "float" | "int"


@dataclass(frozen=True)
class PageRequest:
    page: int
    page_size: int
    cursor: str | None

    @classmethod
    def of(cls, params: PageParams) -> PageRequest:
        """The page a list's parameters ask for, with the effective defaults of
        :data:`~nexus_shop.schemas.params.QUERY_DEFAULTS` (the schema applies them already)."""
        return cls(
            page=params.page,
            page_size=params.page_size or default_of("page_size"),
            cursor=params.cursor,
        )


@dataclass(frozen=True)
class Page(Generic[_M]):
    items: list[_M]
    count: int | None
    count_exact: bool | None
    page: int | None
    page_size: int
    next_cursor: str | None


class RowCompare(Expression):
    """``(a, b) > (x, y)`` (or ``<``): a row-value comparison an index on (a, b) can seek on."""

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, lhs: list[Any], rhs: list[Any], *, descending: bool) -> None:
        super().__init__()
        self.lhs = lhs
        self.rhs = rhs
        self.descending = descending

    def get_source_expressions(self) -> list[Any]:
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        half = len(exprs) // 2
        self.lhs, self.rhs = list(exprs[:half]), list(exprs[half:])

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        params: list[Any] = []
        parts: list[list[str]] = [[], []]
        for side, exprs in enumerate((self.lhs, self.rhs)):
            for expr in exprs:
                sql, expr_params = compiler.compile(expr)
                parts[side].append(sql)
                params.extend(expr_params)
        op = "<" if self.descending else ">"
        return f"({', '.join(parts[0])}) {op} ({', '.join(parts[1])})", tuple(params)


class CompactJSONSerializer:
    """JSON for cursors: UTF-8 as is (not ``\\uXXXX``, 6 bytes a character) and no spaces.

    Keeps the cursor of a 255-character name in any script well under
    :data:`nexus_shop.limits.MAX_CURSOR_LENGTH`.
    """

    def dumps(self, obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data.decode())


def _encode_value(value: Any, kind: str) -> Any:
    if kind in {"decimal", "datetime"}:
        return value.isoformat() if kind == "datetime" else str(value)
    return value


def _decode_value(raw: Any, kind: str) -> Any:
    try:
        if kind == "decimal":
            return Decimal(str(raw))
        if kind == "datetime":
            return datetime.fromisoformat(str(raw))
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
        if not isinstance(raw, str):
            raise TypeError(raw)
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ValidationFailed("Malformed cursor.", extra={"field": "cursor"}) from exc
    return raw


def _signer(scope: str) -> signing.Signer:
    # A plain Signer, not signing.dumps' TimestampSigner: cursors never expire, and a
    # timestamp in them made the same page's body (and so its ETag) change every second,
    # so an If-None-Match on a list page with a next_cursor missed its 304 across a
    # second's boundary.
    return signing.Signer(salt=f"{_SALT}:{scope}")


def encode_cursor(
    *, scope: str, sort: SortKey, value: Any, pk: int, state: dict[str, Any] | None = None
) -> str:
    payload = {**(state or {}), "s": sort.name, "v": _encode_value(value, sort.kind), "id": pk}
    return _signer(scope).sign_object(payload, serializer=CompactJSONSerializer)


def decode_cursor(cursor: str, *, scope: str) -> dict[str, Any]:
    try:
        try:
            payload = _signer(scope).unsign_object(cursor, serializer=CompactJSONSerializer)
        except (signing.BadSignature, ValueError):
            # A cursor handed out before cursors lost their timestamp (signing.dumps). Its
            # signature covers "payload:timestamp", which the plain Signer also accepts
            # and then fails to decode: a ValueError.
            payload = signing.loads(
                cursor, salt=f"{_SALT}:{scope}", serializer=CompactJSONSerializer
            )
    except (signing.BadSignature, ValueError) as exc:
        raise ValidationFailed("Malformed or tampered cursor.", extra={"field": "cursor"}) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        raise ValidationFailed("Malformed cursor.", extra={"field": "cursor"})
    return payload


def paginate(
    queryset: models.QuerySet[_M],
    *,
    sort: SortKey,
    request: PageRequest,
    scope: str,
    after_count: Callable[[int | None], None] | None = None,
    counted: tuple[int, bool] | None = None,
    cursor_state: dict[str, Any] | None = None,
    count_annotation: str | None = None,
) -> Page[_M]:
    """Order ``queryset`` by ``sort`` then id, and cut one page in page or cursor mode.

    ``scope`` names the list ("products", "categories"); a cursor is only valid for
    the list and the sort order it was issued for. ``after_count``, if given, is called
    between the count and the page query with the count (None in cursor mode), to tune
    how the page is fetched. ``counted``, if given, is ``(count, exact)`` of ``queryset``
    as :func:`count_up_to` would give it, counted already by the caller; page mode then
    runs no COUNT of its own. ``cursor_state`` travels in ``next_cursor`` (signed with it),
    for the caller to read back from the next request's cursor with :func:`decode_cursor`.
    ``count_annotation`` names an annotation of ``queryset`` that holds the number of its
    rows on every row (``Window(Count("*"))``): page mode then reads the count from the
    page itself, one statement instead of two, and ``after_count`` is not called.
    """
    direction = "-" if sort.descending else ""
    queryset = queryset.order_by(f"{direction}{sort.field}", f"{direction}pk")
    size = request.page_size

    if request.cursor is not None:
        payload = decode_cursor(request.cursor, scope=scope)
        if payload.get("s") != sort.name:
            raise ValidationFailed(
                f"This cursor was issued for ordering={payload.get('s')!r}, "
                f"not ordering={sort.name!r}.",
                extra={"field": "cursor"},
            )
        field = queryset.model._meta.pk
        value = _decode_value(payload.get("v"), sort.kind)
        output_field = _output_field(queryset, sort.field)
        seek = RowCompare(
            [F(sort.field), F("pk")],
            [Value(value, output_field=output_field), Value(payload["id"], output_field=field)],
            descending=sort.descending,
        )
        if after_count is not None:
            after_count(None)
        rows = list(queryset.filter(seek)[: size + 1])
        count = exact = page = None
    else:
        offset = (request.page - 1) * size
        max_items = conf.PAGE_MODE_MAX_ITEMS
        if offset + size > max_items:
            raise ValidationFailed(
                f"Page mode reaches the first {max_items:,} items (page x page_size); "
                "follow next_cursor to go further.",
                extra={"field": "page"},
            )
        limit = conf.EXACT_COUNT_LIMIT
        if count_annotation is not None:
            # The count comes with the page (a window function over every row); an empty
            # page (past the end) has no row to carry it, so count then.
            rows = list(queryset[offset : offset + size + 1])
            if rows:
                total = getattr(rows[0], count_annotation)
                count, exact = (total, True) if total <= limit else (limit, False)
            else:
                count, exact = count_up_to(queryset, limit)
        else:
            count, exact = counted or count_up_to(queryset, limit)
            if after_count is not None:
                after_count(count)
            # Past a capped count there may be more rows: look, rather than answer empty.
            rows = list(queryset[offset : offset + size + 1]) if offset < count or not exact else []
        page = request.page

    items = rows[:size]
    next_cursor = None
    if len(rows) > size:
        last = items[-1]
        next_cursor = encode_cursor(
            scope=scope,
            sort=sort,
            value=getattr(last, sort.field),
            pk=last.pk,
            state=cursor_state,
        )
    return Page(
        items=items,
        count=count,
        count_exact=exact,
        page=page,
        page_size=size,
        next_cursor=next_cursor,
    )


def count_up_to(queryset: models.QuerySet[Any], limit: int) -> tuple[int, bool]:
    """``(count, exact)``: the number of rows, or ``(limit, False)`` when there are more.

    ``SELECT COUNT(*) FROM (SELECT ... LIMIT limit + 1)``: the scan stops after
    ``limit + 1`` rows, however many match.
    """
    count = queryset.order_by().values("pk")[: limit + 1].count()
    if count > limit:
        return limit, False
    return count, True


def _output_field(queryset: models.QuerySet[Any], name: str) -> Any:
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        return annotation.output_field
    return queryset.model._meta.get_field(name)
