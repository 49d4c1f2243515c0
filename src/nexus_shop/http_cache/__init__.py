"""HTTP caching for the public catalogue: a response cache with exact invalidation, ETags,
``Cache-Control`` on every answer, ``If-Match`` on writes, and CDN purges.

What a host uses (see docs/caching.md):

- ``NEXUS_SHOP_RESPONSE_CACHE = "default"``: the one setting that switches the response
  cache on (a cache alias; Redis for more than one process).
- :class:`ResponseCacheASGI`: wrap Django's ASGI application with it in ``asgi.py``.
- :class:`ResponseCacheMiddleware`: or, under WSGI, put it first in ``MIDDLEWARE``.
- :class:`~nexus_shop.http_cache.purge.PurgeBackend` and its ready-made subclasses
  :class:`VarnishPurge`, :class:`FastlyPurge`, :class:`CloudflarePurge`, named by
  ``NEXUS_SHOP_CDN_PURGE_BACKEND``.
"""

from __future__ import annotations

from nexus_shop.http_cache.asgi import ResponseCacheASGI
from nexus_shop.http_cache.middleware import ResponseCacheMiddleware
from nexus_shop.http_cache.purge import CloudflarePurge, FastlyPurge, PurgeBackend, VarnishPurge

__all__ = [
    "CloudflarePurge",
    "FastlyPurge",
    "PurgeBackend",
    "ResponseCacheASGI",
    "ResponseCacheMiddleware",
    "VarnishPurge",
]
