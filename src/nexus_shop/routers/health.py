"""``GET /health``: is the database reachable, is the cache? And the two probes an
orchestrator asks: ``/health/live`` (the process answers; no I/O) and ``/health/ready``
(the database answers; the cache is not asked, as it fails open by design)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from nexus_shop.schemas.health import HealthOut, LiveOut, ReadyOut
from nexus_shop.selectors.health import database_status, health_report

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


@router.get(
    "/health/live",
    response={200: LiveOut},
    operation_id="health_live",
    url_name="health-live",
    summary="Liveness probe: the process answers",
    description="No I/O at all: 200 while the worker can answer a request. For a "
    "Kubernetes `livenessProbe` (a failure restarts the container). `no-store`.",
)
def health_live(request: HttpRequest) -> Any:
    return LiveOut(status="ok")


@router.get(
    "/health/ready",
    response={200: ReadyOut, 503: ReadyOut},
    operation_id="health_ready",
    url_name="health-ready",
    summary="Readiness probe: the database answers",
    description="200 when the database answers `SELECT 1`, else 503. The cache is not "
    "checked: the API fails open without it, and a Redis outage must not take every pod out "
    "of rotation. For a Kubernetes `readinessProbe`. `no-store`.",
)
def health_ready(request: HttpRequest) -> Any:
    database = database_status()
    ready = database == "ok"
    return Status(
        200 if ready else 503, ReadyOut(status="ok" if ready else "down", database=database)
    )
