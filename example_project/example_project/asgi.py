"""ASGI entry point: ``uvicorn example_project.asgi:application --app-dir example_project``."""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

from nexus_shop.http_cache import ResponseCacheASGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

# uvicorn serves no static files: let Django serve /static/ (Swagger UI's assets, the admin's
# CSS) straight from the apps, without collectstatic. Fine for the demo and small sites; in
# production put WhiteNoise or your web server in front instead.
# ResponseCacheASGI answers cached public reads before Django (NEXUS_SHOP_RESPONSE_CACHE).
application = ResponseCacheASGI(ASGIStaticFilesHandler(get_asgi_application()))
