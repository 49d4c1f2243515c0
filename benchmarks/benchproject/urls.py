from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = []

if settings.BENCH_ONLY != "drf":
    from nexus_shop.api import api

    urlpatterns.append(path("api/", api.urls))

if settings.BENCH_ONLY != "nexus":
    urlpatterns.append(path("drf/", include("drf_baseline.urls")))
