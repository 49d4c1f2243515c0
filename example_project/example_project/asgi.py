"""ASGI entry point: ``uvicorn example_project.asgi:application --app-dir example_project``.

The example project is served over WSGI by default (``granian --interface wsgi``, see
``wsgi.py`` and docs/deployment.md): Django's ASGI handler costs about 2 ms a request in
thread hops (Django ticket #37177). Use this entry point where the host needs ASGI (async
views, websockets, an ASGI-only platform). WhiteNoise serves /static/ in both modes.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

import nexus_shop.tracing
from nexus_shop.asgi import UploadLimitASGI
from nexus_shop.http_cache import ResponseCacheASGI
from nexus_shop.observability import ObservabilityASGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

# Traces with TRACING=1 and nexus-shop[otel] (docs/operations.md#tracing); else nothing.
nexus_shop.tracing.instrument()

# UploadLimitASGI cuts an image upload off at NEXUS_SHOP_MAX_IMAGE_BYTES as it streams in
# (Django's ASGI handler would read the whole body first); every other request passes
# after a path check. ResponseCacheASGI answers cached public reads before Django
# (NEXUS_SHOP_RESPONSE_CACHE). ObservabilityASGI, outermost, gives every request its id,
# access-log line and metrics, hits included.
application = ObservabilityASGI(UploadLimitASGI(ResponseCacheASGI(get_asgi_application())))
