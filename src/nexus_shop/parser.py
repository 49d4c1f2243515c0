"""How the API reads request bodies: ninja's JSON parser, with a bound on nesting.

:func:`nexus_shop.api.create_api` hands it to :class:`ninja.NinjaAPI` (``parser=``); it
takes the place of django-ninja's ``ninja.parser.Parser``. The size of a body is Django's to bound
(``DATA_UPLOAD_MAX_MEMORY_SIZE``, a 413 in :mod:`nexus_shop.errors`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

from nexus_shop.limits import MAX_INPUT_DEPTH
from nexus_shop.schemas.common import input_depth_ok

__all__ = ["BodyRefused", "BoundedJSONParser"]


class BodyRefused(ValueError):
    """A JSON body the parser refuses before validation (see :class:`BoundedJSONParser`)."""


class BoundedJSONParser(Parser):
    """ninja's JSON parser, refusing bodies nested deeper than ``MAX_INPUT_DEPTH`` (a 400).

    ``json.loads`` itself gives up (RecursionError, a 400 too) only about a thousand levels
    down; anything that later walks such a body recursively (validators, error reports,
    serialisers) could overflow the stack. Our bodies nest two levels: refusing at 32 costs
    one iterative pass and keeps every later walk shallow.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        if not input_depth_ok(data):
            raise BodyRefused(
                f"Cannot parse request body: JSON nested more than {MAX_INPUT_DEPTH} levels deep."
            )
        return data
