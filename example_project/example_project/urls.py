"""Admin at /admin/, the catalogue API at /api/ (Swagger UI at /api/docs)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from nexus_shop.api import api
from nexus_shop.throttling import throttle_login_view

urlpatterns = [
    # The admin's login counts against the same throttle as POST /api/auth/token.
    path("admin/login/", throttle_login_view(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
# /static/ is served by WhiteNoise's middleware (settings.MIDDLEWARE), in WSGI and ASGI alike.
