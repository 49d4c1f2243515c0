"""WSGI entry point, the example project's default way to be served.

``granian --interface wsgi example_project.wsgi:application`` from ``example_project/``
(the Docker image and ``nox -s demo`` do so), or any WSGI server (gunicorn ``-k gthread``).
Measured against ASGI in docs/deployment.md; WhiteNoise serves /static/.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

import nexus_shop.tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

# Traces with TRACING=1 and nexus-shop[otel] (docs/operations.md#tracing); else nothing.
nexus_shop.tracing.instrument()
application = get_wsgi_application()
