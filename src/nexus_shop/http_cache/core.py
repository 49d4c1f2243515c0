"""The former home of the response cache's rules, kept so that its names still import.

Split by job: :mod:`~nexus_shop.http_cache.reads` (the cached reads and
``mark_public_read``), :mod:`~nexus_shop.http_cache.keys` (keys from the schemas),
:mod:`~nexus_shop.http_cache.engine` (the engine and its routes),
:mod:`~nexus_shop.http_cache.deps` (dependencies, invalidation, CDN purge keys),
:mod:`~nexus_shop.http_cache.headers` (``Cache-Control``, ``ETag``, 304, ``If-Match``) and
:mod:`~nexus_shop.http_cache.replay` (a hit as an answer). Import from those.
"""

from __future__ import annotations

from nexus_shop.http_cache.deps import flush_response_cache, on_change, purge_keys
from nexus_shop.http_cache.engine import (
    ANNOTATION,
    WRAPPED,
    Engine,
    Lookup,
    get_engine,
    reset_engine,
)
from nexus_shop.http_cache.headers import (
    NO_STORE,
    PRIVATE,
    PRIVATE_NO_STORE,
    PUBLIC,
    default_cache_control,
    etag_matches,
    finish_response,
    not_modified,
    parse_if_match,
)
from nexus_shop.http_cache.reads import mark_public_read

__all__ = [
    "ANNOTATION",
    "NO_STORE",
    "PRIVATE",
    "PRIVATE_NO_STORE",
    "PUBLIC",
    "WRAPPED",
    "Engine",
    "Lookup",
    "default_cache_control",
    "etag_matches",
    "finish_response",
    "flush_response_cache",
    "get_engine",
    "mark_public_read",
    "not_modified",
    "on_change",
    "parse_if_match",
    "purge_keys",
    "reset_engine",
]
