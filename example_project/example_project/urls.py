"""Admin at /admin/, the catalogue API at /api/ (Swagger UI at /api/docs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path
from django.views import defaults
from django.views.static import serve

import nexus_shop.metrics
from nexus_shop.api import api, error_body
from nexus_shop.throttling import throttle_login_view

API_PREFIX = "/api/"

urlpatterns = [
    # The admin's login counts against the same throttle as POST /api/auth/token.
    path("admin/login/", throttle_login_view(admin.site.login)),
    path("admin/", admin.site.urls),
    path(API_PREFIX.strip("/") + "/", api.urls),
    # Prometheus's scrape target: 404 without NEXUS_SHOP_METRICS_TOKEN (docs/operations.md).
    path("metrics", nexus_shop.metrics.view),
]
# /static/ is served by WhiteNoise's middleware (settings.MIDDLEWARE), in WSGI and ASGI alike.
if getattr(settings, "SERVE_MEDIA", False) and settings.MEDIA_URL.startswith("/"):
    # Product images, by Django itself (SERVE_MEDIA: the demo, small sites). Their names are
    # content hashes, so a CDN in front may keep them forever.
    urlpatterns.append(
        re_path(
            rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )


def _json_under_api(status: int, detail: str, default: Callable[..., HttpResponse]) -> Any:
    """Django's error view, except under the API, where errors are JSON in nexus_shop's shape.

    The API answers its own errors; these are the ones Django answers before or around it
    (a disallowed ``Host`` header is a 400 from ``CommonMiddleware``, a crash in a
    middleware a 500), with DEBUG off.
    """

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return JsonResponse(error_body(detail), status=status)
        return default(request, *args, **kwargs)

    return view


handler400 = _json_under_api(400, "Bad request.", defaults.bad_request)
handler403 = _json_under_api(403, "Forbidden.", defaults.permission_denied)
handler404 = _json_under_api(404, "Not found.", defaults.page_not_found)
handler500 = _json_under_api(500, "Internal server error.", defaults.server_error)
