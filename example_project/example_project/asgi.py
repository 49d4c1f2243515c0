"""ASGI entry point: ``uvicorn example_project.asgi:application --app-dir example_project``.

The example project is served over WSGI by default (``granian --interface wsgi``, see
``wsgi.py`` and docs/deployment.md): Django's ASGI handler costs about 2 ms a request in
thread hops (Django ticket #37177). Use this entry point where the host needs ASGI (async
views, websockets, an ASGI-only platform). WhiteNoise serves /static/ in both modes.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from nexus_shop.http_cache import ResponseCacheASGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

# ResponseCacheASGI answers cached public reads before Django (NEXUS_SHOP_RESPONSE_CACHE).
application = ResponseCacheASGI(get_asgi_application())
