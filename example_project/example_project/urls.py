"""Admin at /admin/, the catalogue API at /api/ (Swagger UI at /api/docs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views import defaults

from nexus_shop.api import api, error_body
from nexus_shop.throttling import throttle_login_view

API_PREFIX = "/api/"

urlpatterns = [
    # The admin's login counts against the same throttle as POST /api/auth/token.
    path("admin/login/", throttle_login_view(admin.site.login)),
    path("admin/", admin.site.urls),
    path(API_PREFIX.strip("/") + "/", api.urls),
]
# /static/ is served by WhiteNoise's middleware (settings.MIDDLEWARE), in WSGI and ASGI alike.


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
