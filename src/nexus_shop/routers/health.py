"""``GET /health``: is the database reachable, is the cache?"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status

from nexus_shop.selectors.health import cache_status, database_status

router = Router(tags=["health"])


class HealthOut(Schema):
    status: Literal["ok", "degraded", "down"]
    database: Literal["ok", "down"]
    cache: Literal["ok", "degraded", "down"]


@router.get(
    "/health",
    response={200: HealthOut, 503: HealthOut},
    operation_id="health",
    url_name="health",
    summary="Liveness of the API and its backing services",
    description="503 when the database is unreachable. A cache outage answers 200 with "
    '`"cache": "down"`, a cache that refuses writes (full) with `"cache": "degraded"`: '
    "the API keeps serving without its cache.",
)
def health(request: HttpRequest) -> Any:
    database = database_status()
    cache = cache_status()
    if database != "ok":
        return Status(503, {"status": "down", "database": database, "cache": cache})
    status = "ok" if cache == "ok" else "degraded"
    return {"status": status, "database": database, "cache": cache}
