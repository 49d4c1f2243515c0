"""ASGI entry point: ``uvicorn example_project.asgi:application --app-dir example_project``."""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

# uvicorn serves no static files: let Django serve /static/ (the admin's CSS and JavaScript;
# the API serves Swagger UI's files itself) straight from the apps, without collectstatic.
# Fine for the demo and small sites; in production put WhiteNoise or your web server in front.
application = ASGIStaticFilesHandler(get_asgi_application())
