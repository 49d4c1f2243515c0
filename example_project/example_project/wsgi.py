"""WSGI entry point, the example project's default way to be served.

``granian --interface wsgi example_project.wsgi:application`` from ``example_project/``
(the Docker image and ``nox -s demo`` do so), or any WSGI server (gunicorn ``-k gthread``).
Measured against ASGI in docs/deployment.md; WhiteNoise serves /static/.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

application = get_wsgi_application()
