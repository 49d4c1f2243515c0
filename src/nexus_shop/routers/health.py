"""``GET /health``: is the database reachable, is the cache?"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from nexus_shop.schemas.health import HealthOut
from nexus_shop.selectors.health import health_report

router = Router(tags=["health"])


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
    report = health_report()
    return Status(503 if report.status == "down" else 200, report)
