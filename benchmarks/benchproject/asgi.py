"""ASGI entry point of the benchmark project (uvicorn), as the example project's asgi.py.

``ResponseCacheASGI`` answers cached public reads before Django when
``NEXUS_SHOP_RESPONSE_CACHE`` is set (``BENCH_RESPONSE_CACHE=1``), and passes every
request through otherwise.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")

django_application = get_asgi_application()

from nexus_shop.http_cache import ResponseCacheASGI  # noqa: E402  (needs the settings)

application = ResponseCacheASGI(django_application)
