"""Which requests the response cache answers, and their keys, derived from the API's schemas.

The key of a public read is its kind, the id in its path, the scheme, and the *validated*
values of its query schema (:class:`~nexus_shop.http_cache.reads.Read`'s ``params``, the
class the router takes as ``Query[...]``), effective defaults applied
(:mod:`nexus_shop.schemas.params`). The query string is turned into a dict as
django-ninja does for a ``Query`` schema (a list field takes every value, a scalar field
one; names the schema does not have are dropped, as ninja drops them), then validated
with that schema. So:

- ``?``, ``?page=1`` and ``?page_size=<the default page size>`` are one entry,
  ``min_price=5`` and ``5.00`` too;
- a parameter the schema does not have changes nothing, for ninja answers the same page;
- a field added to the schema is part of the key at once, with nothing to update here;
- a request the schema refuses is not classified (Django answers the 422), and neither
  is a repeated scalar parameter (ninja takes its last value; the cache stands by).

Nothing here restates a parameter's type, bounds, choices or default.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from ninja.signature.details import is_collection_type
from pydantic import BaseModel, ValidationError

from nexus_shop.http_cache.reads import READS, Read, ReadKind
from nexus_shop.schemas.params import QueryParams

Values = tuple[tuple[str, Any], ...]
"""What a read's query string means to its key (see :meth:`Keyer.values`)."""


def _canonical(value: Any) -> Any:
    """A form of ``value`` that is equal for equal values (``5`` and ``5.00``) and only then."""
    if isinstance(value, Decimal):
        return ("decimal", str(value.normalize()))
    if isinstance(value, set | frozenset):
        return ("set", tuple(sorted(repr(_canonical(v)) for v in value)))
    if isinstance(value, list | tuple):
        return ("list", tuple(_canonical(v) for v in value))
    if isinstance(value, BaseModel):
        return _values(value)
    return value


def _values(model: BaseModel) -> Values:
    """Every field of a validated model, in declaration order (defaults already applied)."""
    return tuple((name, _canonical(getattr(model, name))) for name in type(model).model_fields)


class Keyer:
    """The key normaliser of one read, built once from its declaration."""

    def __init__(self, read: Read) -> None:
        self.read = read
        self.schema: type[QueryParams] | None = read.params
        # Query name -> whether ninja reads it as a list (request.GET.getlist).
        self.fields: dict[str, bool] = {}
        if self.schema is not None:
            for name, info in self.schema.model_fields.items():
                if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                    raise TypeError(f"{self.schema.__name__}.{name}: nested query models")
                self.fields[info.alias or name] = is_collection_type(info.annotation)

    def query(self, params: Mapping[str, list[str]]) -> dict[str, Any] | None:
        """What ninja would validate; ``None`` for a repeated scalar parameter."""
        data: dict[str, Any] = {}
        for name, values in params.items():
            many = self.fields.get(name)
            if many is None:
                continue  # ninja's flatten map drops it too
            if many:
                data[name] = values
            elif len(values) > 1:
                return None
            else:
                data[name] = values[0]
        return data

    def validate(self, params: Mapping[str, list[str]]) -> QueryParams | None:
        """The validated parameters, or ``None`` when ninja would refuse them (or we stand by)."""
        if self.schema is None:
            return None
        data = self.query(params)
        if data is None:
            return None
        try:
            return self.schema.model_validate(data)
        except (ValidationError, ValueError):
            return None

    def values(self, params: Mapping[str, list[str]]) -> Values | None:
        """What the key is made of, or ``None``: not classified."""
        if self.schema is None:
            return ()
        model = self.validate(params)
        return None if model is None else _values(model)


def parse_query(query_string: str) -> dict[str, list[str]] | None:
    """The query string as Django's ``QueryDict`` reads it, or ``None``: stand by.

    Only ASCII query strings are classified (a client percent-encodes anything else), so
    the WSGI and ASGI decodings of the raw bytes never differ from Django's; a NUL, which
    the schemas refuse anyway, stands by too.
    """
    if not query_string.isascii() or "\x00" in query_string or "%00" in query_string:
        return None
    from django.conf import settings

    params: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(
            query_string,
            keep_blank_values=True,
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except ValueError:  # too many fields: Django answers 400
        return None
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    return params


_KEYERS: dict[ReadKind, Keyer] = {}


def keyer(kind: ReadKind) -> Keyer:
    """The key normaliser of ``kind`` (built on first use, kept for the process)."""
    found = _KEYERS.get(kind)
    if found is None:
        found = _KEYERS[kind] = Keyer(READS[kind])
    return found


def query_values(kind: ReadKind, query_string: str) -> Values | None:
    """The normalised parameters of a ``kind`` read, or ``None``: let Django answer.

    The costly half of a key (parsing and validating through the schema); it depends on
    the kind and query string only, so the engine memoises it across ids and schemes.
    """
    params = parse_query(query_string)
    if params is None:
        return None
    return keyer(kind).values(params)


def entry_key(*, kind: ReadKind, ident: str, scheme: str, values: Values) -> str:
    """The entry key of a read whose query string gave ``values``."""
    canonical = repr((scheme, kind.value, ident, values))
    return "e:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def cache_key(*, kind: ReadKind, ident: str, scheme: str, query_string: str) -> str | None:
    """The entry key of this read, or ``None`` when the cache must let Django answer."""
    values = query_values(kind, query_string)
    if values is None:
        return None
    return entry_key(kind=kind, ident=ident, scheme=scheme, values=values)


@dataclass
class Routes:
    """The public read paths, found by reversing the reads' URL names once."""

    list_paths: dict[str, ReadKind]
    detail_patterns: list[tuple[re.Pattern[str], ReadKind]]

    def match(self, path: str) -> tuple[ReadKind, str] | None:
        """The read at ``path`` and the id in it (``""`` for a list), or ``None``."""
        kind = self.list_paths.get(path)
        if kind is not None:
            return kind, ""
        for pattern, detail_kind in self.detail_patterns:
            found = pattern.match(path)
            if found:
                return detail_kind, found.group(1)
        return None


_SENTINEL = 987654321


def load_routes(namespace: str) -> Routes:
    """The paths of every declared read mounted under URL namespace ``namespace``."""
    from django.urls import NoReverseMatch, reverse

    routes = Routes(list_paths={}, detail_patterns=[])
    for read in READS.values():
        try:
            if read.path_param is None:
                routes.list_paths[reverse(f"{namespace}:{read.url_name}")] = read.kind
            else:
                path = reverse(f"{namespace}:{read.url_name}", kwargs={read.path_param: _SENTINEL})
                pattern = re.escape(path).replace(str(_SENTINEL), "([1-9][0-9]{0,17})")
                routes.detail_patterns.append((re.compile(f"^{pattern}$"), read.kind))
        except NoReverseMatch:  # an API without this operation
            continue
    return routes
