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


# ``GET /health/live``: always "ok" when it answers at all.
class LiveOut(Schema):
    status: Literal["ok"]


# ``GET /health/ready``: "down" (a 503) when the database does not answer.
class ReadyOut(Schema):
    status: Literal["ok", "down"]
    database: Literal["ok", "down"]
