"""ASGI entry point of the benchmark project (uvicorn), as the example project's asgi.py.

``ResponseCacheASGI`` answers cached public reads before Django when
``NEXUS_SHOP_RESPONSE_CACHE`` is set (``BENCH_RESPONSE_CACHE=1``), and passes every
request through otherwise. ``ObservabilityASGI`` wraps it with ``BENCH_OBSERVABILITY=1``.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")

django_application = get_asgi_application()

from benchproject.observability import switch_off_if_asked  # noqa: E402  (apps loaded)

switch_off_if_asked()

from django.conf import settings  # noqa: E402  (after the setup, with the rest)

from nexus_shop.http_cache import ResponseCacheASGI  # noqa: E402  (needs the settings)
from nexus_shop.observability import ObservabilityASGI  # noqa: E402  (the same)

application: object = ResponseCacheASGI(django_application)
if settings.OBSERVABILITY:  # BENCH_OBSERVABILITY=1: outermost, as in the example project
    application = ObservabilityASGI(application)  # type: ignore[arg-type]  # an ASGI app
