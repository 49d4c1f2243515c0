"""Admin at /admin/, the catalogue API at /api/ (Swagger UI at /api/docs)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from nexus_shop.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
# /static/ is served by WhiteNoise's middleware (settings.MIDDLEWARE), in WSGI and ASGI alike.
