from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path


def hello(request: HttpRequest) -> JsonResponse:
    """The Django ceiling: a sync view answering ``{"ok": true}`` through the whole chain."""
    return JsonResponse({"ok": True})


urlpatterns: list[URLPattern | URLResolver] = [path("hello", hello)]

if settings.BENCH_ONLY != "drf":
    from nexus_shop.api import api

    urlpatterns.append(path("api/", api.urls))

if settings.BENCH_ONLY != "nexus":
    urlpatterns.append(path("drf/", include("drf_baseline.urls")))
