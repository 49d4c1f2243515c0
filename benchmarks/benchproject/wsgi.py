"""WSGI entry point of the benchmark project (granian, gunicorn)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")

application = get_wsgi_application()

from benchproject.observability import switch_off_if_asked  # noqa: E402  (apps loaded)

switch_off_if_asked()
