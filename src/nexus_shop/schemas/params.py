"""The query parameters' effective defaults: one table, and the base of the query schemas.

A query parameter the client leaves out takes the value in :data:`QUERY_DEFAULTS`. The
schemas read it: a field with a static default declares it from the table, and a field
whose default comes from a setting (``page_size``) is left ``None`` by the client and
filled in after validation by :class:`QueryParams`. So the routers, the selectors and the
response cache's keys (:mod:`nexus_shop.http_cache.keys`) all see the effective value,
and ``?``, ``?page=1`` and ``?page_size=<the default page size>`` are one request.

The table is also what the OpenAPI descriptions can render (:meth:`QueryDefault.describe`),
so a parameter can be declared without a ``default`` that a setting would make wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Self

from pydantic import model_validator

from nexus_shop.conf import conf, described
from nexus_shop.schemas.common import RefusesNul


@dataclass(frozen=True)
class QueryDefault:
    """One effective default: its value (read when asked, so ``override_settings`` works)."""

    value: Callable[[], object]
    setting: str | None = None
    """The setting the value comes from, if any, as :data:`nexus_shop.conf.DEFAULTS` names
    it (``DEFAULT_PAGE_SIZE`` for ``NEXUS_SHOP_DEFAULT_PAGE_SIZE``)."""

    def describe(self) -> str:
        """How a parameter's description states it: ``When left out, `1`.``, or the setting
        and its default for one that comes from a setting."""
        if self.setting is not None:
            return f"When left out, {described(self.setting)}."
        return f"When left out, `{json.dumps(self.value())}`."


QUERY_DEFAULTS: Mapping[str, QueryDefault] = MappingProxyType(
    {
        "page": QueryDefault(lambda: 1),
        "page_size": QueryDefault(lambda: conf.DEFAULT_PAGE_SIZE, setting="DEFAULT_PAGE_SIZE"),
        "ordering": QueryDefault(lambda: "-created_at"),
        "include_deleted": QueryDefault(lambda: False),
    }
)
"""Every query parameter's effective default, by parameter name (the same name in every
operation that takes it)."""


def default_of(name: str) -> Any:
    """The effective default of query parameter ``name`` (see :data:`QUERY_DEFAULTS`)."""
    return QUERY_DEFAULTS[name].value()


class QueryParams(RefusesNul):
    """Base of the query-parameter schemas: a field left ``None`` takes its effective default.

    Only fields named in :data:`QUERY_DEFAULTS` are filled, after every other validator,
    so a validated instance holds the values the request is answered with.
    """

    @model_validator(mode="after")
    def _apply_effective_defaults(self) -> Self:
        fields = type(self).model_fields
        for name, default in QUERY_DEFAULTS.items():
            if name in fields and getattr(self, name) is None:
                setattr(self, name, default.value())
        return self
