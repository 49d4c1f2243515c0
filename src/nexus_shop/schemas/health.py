"""The body of ``GET /health``."""

from __future__ import annotations

from typing import Literal

from ninja import Schema


# No docstring on purpose: ninja would publish it in the OpenAPI document.
# ``status`` is "ok" when everything is up, "degraded" when the API serves without its
# cache (or with a cache that refuses writes: ``cache`` "degraded"), and "down" when the
# database is unreachable (the rule: selectors.health).
class HealthOut(Schema):
    status: Literal["ok", "degraded", "down"]
    database: Literal["ok", "down"]
    cache: Literal["ok", "degraded", "down"]
