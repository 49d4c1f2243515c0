"""ASGI entry point: ``uvicorn example_project.asgi:application --app-dir example_project``."""

from __future__ import annotations

import os

from asgiref.sync import sync_to_async
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest
from django.http.response import HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")


class StaticFilesHandler(ASGIStaticFilesHandler):
    """Django's handler, answering a path that escapes the static roots with a 400.

    Django's ``StaticFilesHandlerMixin`` turns only ``Http404`` into a response: for
    ``/static/../x`` the finder's ``SuspiciousFileOperation`` escaped to the ASGI server,
    which answered a text 500. Here it is answered as Django answers any
    ``SuspiciousOperation`` (400, logged to ``django.security``).
    """

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return await super().get_response_async(request)
        except SuspiciousOperation as error:
            return await sync_to_async(response_for_exception)(request, error)


# uvicorn serves no static files: let Django serve /static/ (the admin's CSS and JavaScript;
# the API serves Swagger UI's files itself) straight from the apps, without collectstatic.
# Fine for the demo and small sites; in production put WhiteNoise or your web server in front.
application = StaticFilesHandler(get_asgi_application())
